/**
 * Error codes of the configuration loader, the rule-file reader and the engine's control path.
 * Each configuration problem is reported as a `ConfigIssue` (file, line, column, path, reason)
 * carrying one of these codes; SQL problems inside rules keep the SQL diagnostic codes of the
 * parser/compiler.
 */
import { defineErrors } from '../core/index.js';

export const ConfigErrors = defineErrors('config', {
  test_file_unreadable: {
    description: 'A rule test file (`sluice test`) could not be read.',
    retriable: false,
  },
  test_file_invalid: {
    description:
      'A rule test file does not follow schema/sluice-test.schema.json (unknown key, wrong type, missing field); the issue names the path.',
    retriable: false,
  },
  test_config_not_found: {
    description:
      'A rule test file names no `config` and no sluice.yaml was found in its directory or above.',
    retriable: false,
  },
  test_unknown_rule: {
    description: 'A rule test file names a rule id the configuration does not declare.',
    retriable: false,
  },
  test_rule_broken: {
    description:
      'A rule under test does not load or compile (the rule issue is printed too), so its tests cannot run.',
    retriable: false,
  },
  test_bad_input: {
    description:
      'A test input cannot be turned into an event (unknown event name or topic, or a message without a topic).',
    retriable: false,
  },
  config_file_unreadable: {
    description: 'A configuration or rule file could not be read (missing, permissions).',
    retriable: false,
  },
  config_yaml_syntax: {
    description: 'sluice.yaml is not valid YAML (the yaml parser message, with line and column).',
    retriable: false,
  },
  config_invalid_field: {
    description:
      'A configuration field failed validation: unknown key, wrong type, out of range or missing; the issue names the field path.',
    retriable: false,
  },
  config_env_missing: {
    description:
      'A `${NAME}` substitution names an environment variable that is not set and gives no `:-default`.',
    retriable: false,
  },
  config_unknown_sink_type: {
    description: 'A sink declares a `type` that no installed sink implements.',
    retriable: false,
  },
  config_fallback_invalid: {
    description:
      "A sink's fallback_actions names a sink that is not configured or the sink itself, or forms a cycle (a -> b -> a).",
    retriable: false,
  },
  config_invalid: {
    description:
      'The configuration has errors (thrown by createEngine/loadConfig; lists every issue).',
    retriable: false,
  },
  rule_header_invalid: {
    description:
      'A rule file header line (`-- key: value`) has an unknown key or a bad value (enabled must be true/false).',
    retriable: false,
  },
  rule_duplicate_id: {
    description: 'Two rules (in sluice.yaml or rule files) have the same id.',
    retriable: false,
  },
  rule_unknown_action: {
    description: 'A rule names an action that is not a configured sink.',
    retriable: false,
  },
  engine_not_running: {
    description: 'An engine operation needs a started engine (start() not called, or stop() ran).',
    retriable: false,
  },
});
