/**
 * Rule test files (`*.test.yaml` beside the rules; `sluice test`, docs/cli.md): one spec
 * declares the format, which yields the validator (located issues, unknown keys rejected) and
 * schema/sluice-test.schema.json (`npm run gen:schema`).
 *
 * Loading is synchronous and side-effect free, like the rest of this module; running the
 * tests is src/engine's rule-tests.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { field, toJsonSchema, validate } from '../core/index.js';
import type { FieldSpec } from '../core/index.js';
import type { ConfigIssue } from './issues.js';
import { parseYamlSource } from './yaml-source.js';

/** One input event: an MQTT message, or a client/session/… event. */
export interface TestInput {
  /** An event name (`client.connected`) or event topic (either spelling); absent: a message. */
  event?: string;
  topic?: string;
  /** Text, or a mapping/list sent as JSON text. */
  payload?: unknown;
  qos?: number;
  retain?: boolean;
  /** MQTT 5 PUBLISH properties (`pub_props`, property names as EMQX shows them). */
  properties?: Record<string, unknown>;
  clientid?: string;
  username?: string;
  peerhost?: string;
  /** Any other columns (`reason`, `conn_props`, `timestamp`, …), set as given. */
  columns?: Record<string, unknown>;
}

export interface TestCase {
  name: string;
  match: 'exact' | 'subset';
  /** Rules under test for this case (default: the file's `rules`). */
  rules?: string[];
  input?: TestInput;
  inputs: TestInput[];
  /** Action (sink name) → the outputs it must receive, in order; `[]` = none. */
  expect: Record<string, unknown[]>;
  /** A rule under test must fail on an input with this error code. */
  error?: string;
}

export interface TestFile {
  config?: string;
  rules: string[];
  tests: TestCase[];
}

const inputSpec: FieldSpec = field.object(
  {
    event: field.string({
      description:
        'For a client/session/message event: its name (client.connected) or event topic ($events/client/connected or $events/client_connected). Absent: an MQTT message.',
      optional: true,
      example: 'client.connected',
    }),
    topic: field.string({ description: 'The message topic (messages).', optional: true }),
    payload: field.any({
      description:
        'The payload: text, or a mapping/list that is sent as JSON text (as a device would).',
      optional: true,
      example: { temp: 31 },
    }),
    qos: field.integer({ description: 'QoS (messages).', optional: true, min: 0, max: 2 }),
    retain: field.boolean({ description: 'The retain flag (messages).', optional: true }),
    properties: field.map(field.any({ description: 'A property value.' }), {
      description: "MQTT 5 PUBLISH properties (the rule's pub_props), e.g. User-Property.",
      optional: true,
    }),
    clientid: field.string({ description: 'Publisher / client id.', optional: true }),
    username: field.string({ description: 'Username.', optional: true }),
    peerhost: field.string({ description: 'Client IP address.', optional: true }),
    columns: field.map(field.any({ description: 'A column value.' }), {
      description:
        'Any other trigger columns (reason, conn_props, timestamp, …), set as given; they override the sample values.',
      optional: true,
    }),
  },
  { description: 'One input event.' },
);

export const testFileSpec: FieldSpec = field.object(
  {
    config: field.string({
      description:
        'The sluice.yaml whose rules and sinks are tested, relative to this file. Default: the nearest sluice.yaml in this directory or above.',
      optional: true,
      example: '../sluice.yaml',
    }),
    rules: field.array(field.string({ description: 'A rule id.' }), {
      description:
        'Rules under test. Default: the rules of the rule file with the same base name (foo.test.yaml → foo.sql), else every rule of the config.',
      default: [],
    }),
    tests: field.array(
      field.object(
        {
          name: field.string({ description: 'What the case checks (shown in reports).' }),
          match: field.string({
            description:
              'exact: each output must equal the expected one; subset: expected fields must be present with equal values (others are ignored).',
            enum: ['exact', 'subset'],
            default: 'exact',
          }),
          rules: field.array(field.string({ description: 'A rule id.' }), {
            description: "Rules under test for this case (default: the file's rules).",
            optional: true,
          }),
          input: { ...inputSpec, optional: true },
          inputs: field.array(inputSpec, {
            description: 'Several input events, run in order (after `input`).',
            default: [],
          }),
          expect: field.map(
            field.array(field.any({ description: 'One expected output.' }), {
              description: 'The outputs this action receives, in order; empty = none.',
              default: [],
            }),
            {
              description:
                'Action (sink name) → its expected outputs, in order. An action not listed must receive nothing; {} = no output at all. Republish outputs are {topic, payload, qos, retain, properties}, Kafka outputs {topic, key, value, headers, timestamp}, other sinks get the rule output. A payload/key/value written as a mapping is compared with the JSON text decoded.',
              default: {},
            },
          ),
          error: field.string({
            description:
              'A rule under test must fail on an input with this code (e.g. decode_json_failed).',
            optional: true,
          }),
        },
        { description: 'One test case.' },
      ),
      { description: 'The test cases, run in order.', minItems: 1 },
    ),
  },
  { description: 'Sluice rule tests (`sluice test`, docs/cli.md).' },
);

export function testFileJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:sluice:schema:sluice-test.yaml:v1',
    title: 'Sluice rule tests',
    ...toJsonSchema(testFileSpec),
  };
}

export type TestFileLoad =
  { ok: true; file: string; test: TestFile } | { ok: false; file: string; issues: ConfigIssue[] };

/** Read and validate one test file (display path relative to cwd in issues). */
export function loadTestFile(abs: string): TestFileLoad {
  const display = path.relative(process.cwd(), abs) || abs;
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    return {
      ok: false,
      file: abs,
      issues: [
        {
          code: 'test_file_unreadable',
          file: display,
          line: 0,
          column: 0,
          path: '',
          reason: (err as Error).message,
        },
      ],
    };
  }
  // No ${ENV} substitution in test files: what the file says is what is tested.
  const src = parseYamlSource(display, text, {});
  if (src.issues.length) return { ok: false, file: abs, issues: [...src.issues] };
  const v = validate<TestFile>(testFileSpec, src.value ?? {});
  if (!v.ok)
    return {
      ok: false,
      file: abs,
      issues: v.issues.map((i) =>
        src.issueAt('test_file_invalid', i.path, i.reason, i.onKey === true),
      ),
    };
  return { ok: true, file: abs, test: v.value };
}
