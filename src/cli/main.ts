/**
 * The `sluice` command line (bin/sluice.js imports `main` from the built dist/cli/main.js).
 *
 *   sluice run [-c sluice.yaml]        run the broker, rules and sinks until SIGINT/SIGTERM
 *   sluice check [-c sluice.yaml]      validate config and rules (file:line:col: error[code]: …)
 *   sluice test-rule --sql … [--context '{json}']   one rule, one sample event
 *   sluice test [paths…] [-c sluice.yaml] [--json]   rule test files (*.test.yaml)
 *   sluice plan -c new.yaml (--from old.yaml | --against URL) [--json]   what a reload changes
 *   sluice hash-password [--password-stdin] [--algorithm scrypt|pbkdf2|scram-sha-256|scram-sha-512]   stored password hash / SCRAM credential
 *   sluice api-key create|list|delete [-c sluice.yaml | --keys-file FILE]   management API keys
 *   sluice trace --topic F [--clientid ID] [--rule ID] [--duration S]   follow messages (API)
 *   sluice help COMMAND | COMMAND --help | --help | -V/--version
 *
 * `main` never calls process.exit: it resolves with the exit code (bin/sluice.js sets it).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createApiServer } from '../api/index.js';
import type { ApiAddress, ApiServer } from '../api/index.js';
import { formatIssue } from '../config/index.js';
import type { LogFormat } from '../core/index.js';
import { checkConfig, createEngine } from '../engine/index.js';
import type { Engine } from '../engine/index.js';
import type { BoundAddress } from '../broker/index.js';
import { apiKeyCommand } from './api-key.js';
import { apiCredentials, apiFiles, apiPreflight } from './api-preflight.js';
import { hashPasswordCommand, readProcessStdin, terminalPrompt } from './hash-password.js';
import { planCommand } from './plan-command.js';
import { testCommand } from './test-command.js';
import { testRule } from './test-rule.js';
import { traceCommand } from './trace.js';

/** Where output goes (tests capture it). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM by default). */
  stopSignal?: Promise<string>;
  /** All of stdin (default: process.stdin). */
  readStdin?: () => Promise<string>;
  /** No-echo terminal prompt (default: one on the process's TTY, if it has one). */
  prompt?: ((question: string) => Promise<string>) | undefined;
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The embedded default configuration: the quickstart example shipped with the package. */
export const QUICKSTART_CONFIG = path.join(packageRoot, 'examples/quickstart/sluice.yaml');

function version(): string {
  try {
    return (
      JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return 'unknown';
  }
}

const HELP = `sluice — EMQX-compatible rule engine with an embedded MQTT broker

Usage:
  sluice run [-c FILE]                 Run Sluice. Without -c: ./sluice.yaml if present, else the
                                       built-in quickstart (broker on 127.0.0.1:1883/tcp and 8083/ws)
  sluice check [-c FILE]               Validate the config and every rule; exit 1 on any error
  sluice test-rule --sql SQL [--context JSON]
                                       Run one rule on one sample event and print its outputs
  sluice test [PATH…] [-c FILE] [--json]
                                       Run the rule test files (*.test.yaml) under PATH
  sluice plan -c FILE (--from OLD | --against URL) [--json]
                                       Show what reloading FILE would change
  sluice hash-password [--password-stdin] [--algorithm scrypt|pbkdf2|scram-sha-256|scram-sha-512]
                                       Print the password_hash for broker.users
  sluice api-key create|list|delete [-c FILE] [--name NAME] [--role ROLE] [--expires WHEN]
                                       Manage the management API's keys (api.keys_file)
  sluice trace [--topic FILTER] [--clientid ID] [--rule ID] [--duration S] [--max N] [--url URL]
                                       Follow messages through the rules and sinks of a running
                                       Sluice (management API), one line per step
  sluice help COMMAND | sluice COMMAND --help
                                       Help for one command
  sluice -V | --version                Print the version

\`sluice run\` also serves the management HTTP API (default http://127.0.0.1:18083; \`api\` in
sluice.yaml): status, rules, rule metrics, rule test, sinks, Prometheus /metrics.

Docs: docs/cli.md, docs/config.md, docs/api.md`;

/** Per-command help and the options each command takes. */
const COMMANDS: Record<string, { options: readonly string[]; help: string }> = {
  run: {
    options: ['config', 'log-format'],
    help: `Usage: sluice run [-c FILE] [--log-format text|json|auto]

Run the broker, the rules and the sinks until SIGINT/SIGTERM, then drain the sinks.
Without -c: ./sluice.yaml if present, else the built-in quickstart (anonymous broker on
127.0.0.1: 1883/tcp, 8083/ws; example rules to the console).

Options:
  -c, --config FILE        sluice.yaml to use
  --log-format FORMAT      text (readable lines), json (one object per line) or auto
                           (text on a terminal, JSON otherwise; default: log.format)

Exit status: 0 after a clean stop; 1 invalid configuration or a listener that cannot start;
3 stopped, but records were abandoned (not delivered before shutdown.drain_timeout).`,
  },
  check: {
    options: ['config'],
    help: `Usage: sluice check [-c FILE]

Validate sluice.yaml and every rule it loads without starting anything. Every problem is
printed as file:line:column: error[code]: reason, with the line and a caret.

Options:
  -c, --config FILE    sluice.yaml to check (default ./sluice.yaml, else the quickstart)

Exit status: 0 valid; 1 at least one error.`,
  },
  'test-rule': {
    options: ['sql', 'context'],
    help: `Usage: sluice test-rule --sql SQL [--context JSON]

Run one rule on one sample event (EMQX's rule test) and print each output as a JSON line.
The context is the event's columns; missing columns get sample values; a payload given as
a JSON object is sent as JSON text.

Options:
  --sql SQL            the rule
  --context JSON       columns of the sample event, e.g. '{"topic":"sensors/1","payload":{"temp":31}}'

Exit status: 0 outputs; 2 no result (WHERE false, FOREACH empty, or the context does not
match FROM); 1 error (bad SQL, bad context, evaluation failure).`,
  },
  test: {
    options: ['config', 'json'],
    help: `Usage: sluice test [PATH…] [-c FILE] [--json]

Run rule test files (*.test.yaml / *.test.yml; format: schema/sluice-test.schema.json,
docs/cli.md) through the configuration's real rules and action templates, with no network:
republish and Kafka outputs are rendered as those sinks would send them, other sinks get the
rule output. A PATH is a test file or a directory searched recursively; default: the
directory of -c FILE or ./sluice.yaml. Each file tests the sluice.yaml it names (config:),
else the nearest one in its directory or above.

Options:
  -c, --config FILE    whose directory to search when no PATH is given
  --json               one JSON report on stdout (the summary line goes to stderr)

Exit status: 0 all cases passed; 1 a case failed, a file or rule under test has a problem,
or no test file was found; 64 usage error.`,
  },
  plan: {
    options: ['config', 'from', 'against', 'json'],
    help: `Usage: sluice plan -c NEW.yaml --from OLD.yaml [--json]
       sluice plan -c NEW.yaml --against URL [--json]

Show what a reload of NEW.yaml would change — rules added, changed (with a SQL diff), removed
or kept at their running version, and sink/broker/gateway/source changes that need a restart —
computed by the same code hot reload applies. --from compares with what OLD.yaml would be
running; --against asks a running Sluice's management API (GET /api/v5/config/running; an
API key or token in SLUICE_API_KEY=key:secret or SLUICE_API_TOKEN).

Options:
  -c, --config FILE    the new configuration
  --from FILE          the configuration running now
  --against URL        a running instance, e.g. http://127.0.0.1:18083
  --json               the plan as one JSON document

Exit status: 0 nothing would change; 2 changes (printed); 1 error (invalid file, API
unreachable); 64 usage error.`,
  },
  'hash-password': {
    options: ['password-stdin', 'algorithm', 'iterations'],
    help: `Usage: sluice hash-password [--password-stdin] [--algorithm NAME] [--iterations N]

Print the password_hash to put under broker.users in sluice.yaml, or with a scram-* algorithm
the credential for broker.scram.users (MQTT 5 enhanced authentication). The password is read
from stdin with --password-stdin, else from a no-echo prompt on a terminal.

Options:
  --password-stdin     read the password from stdin (trailing newline removed)
  --algorithm NAME     scrypt (default), pbkdf2, scram-sha-256 or scram-sha-512
  --iterations N       SCRAM iteration count (default 4096, EMQX's)

Exit status: 0 printed; 1 no password; 64 usage error.`,
  },
  trace: {
    options: ['config', 'topic', 'clientid', 'rule', 'duration', 'max', 'url'],
    help: `Usage: sluice trace [--topic FILTER] [--clientid ID] [--rule ID] [--duration S] [--max N]
                    [--url URL] [-c FILE]

Start a per-message trace on a running Sluice (POST /api/v5/traces) and print each step the
selected messages take — received, rule_matched, where (result and deciding value), select,
action_render, buffered, send_attempt, ack, drop, fallback — one line per step under a header
per message. Ends when the trace stops; Ctrl-C deletes it.

Options:
  --topic FILTER       MQTT topic filter, e.g. 'sensors/#'
  --clientid ID        only messages from this client
  --rule ID            only this rule's steps
  --duration S         seconds to trace (default 60, at most 3600)
  --max N              messages to trace (default 1000, at most 100000)
  --url URL            the management API (default: SLUICE_API_URL, else api.bind/api.port
                       of -c FILE or ./sluice.yaml, else http://127.0.0.1:18083)
  -c, --config FILE    sluice.yaml to read the API address and api.token from

Credentials: SLUICE_API_KEY=key:secret (an administrator API key), else SLUICE_API_TOKEN or
api.token of the config.

Exit status: 0 the trace ended; 1 the API refused it or cannot be reached; 64 usage error.`,
  },
  'api-key': {
    options: ['config', 'name', 'role', 'expires', 'keys-file'],
    help: `Usage: sluice api-key create --name NAME --role administrator|viewer [--expires WHEN] [-c FILE]
       sluice api-key list [-c FILE]
       sluice api-key delete --name NAME [-c FILE]

Manage the management API's keys in api.keys_file of sluice.yaml (default data/api_keys.json
next to it). Requests authenticate with HTTP Basic: curl -u API_KEY:API_SECRET. A viewer key
may only read (GET); an administrator key may do everything. A running sluice picks up every
change on its next request. create prints {"name","api_key","api_secret","role","expires_at"}
as one JSON line on stdout: the secret is shown only then (only its scrypt hash is stored).

Options:
  -c, --config FILE    sluice.yaml whose api.keys_file to use (default ./sluice.yaml)
  --keys-file FILE     use this key file instead
  --name NAME          the key's name (letters, digits, _ . -), shown in logs and the audit log
  --role ROLE          administrator (or admin) or viewer
  --expires WHEN       a duration from now (90m, 12h, 30d, 2w) or an ISO date; default never

Exit status: 0 done; 1 error (name exists, no such key, unreadable key file); 64 usage error.`,
  },
};

/** Readable text for node:util parseArgs errors (its own messages are about positionals). */
function usageError(err: unknown): string {
  const e = err as { code?: string; message: string };
  const opt = /'([^']+)'/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${opt ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return opt ? `option ${opt} needs a value` : e.message;
    default:
      return e.message;
  }
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
};

function signalPromise(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

function resolveConfig(given: string | undefined): string {
  if (given) return given;
  if (existsSync('sluice.yaml')) return 'sluice.yaml';
  return QUICKSTART_CONFIG;
}

function connectHint(a: BoundAddress): string {
  const host =
    a.host === '0.0.0.0' || a.host === '::'
      ? 'localhost'
      : a.host.includes(':')
        ? `[${a.host}]`
        : a.host;
  const scheme = { tcp: 'mqtt', tls: 'mqtts', ws: 'ws', wss: 'wss' }[a.type];
  return `${scheme}://${host}:${a.port}`;
}

export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        sql: { type: 'string' },
        context: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        algorithm: { type: 'string' },
        iterations: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string' },
        expires: { type: 'string' },
        'keys-file': { type: 'string' },
        'log-format': { type: 'string' },
        json: { type: 'boolean' },
        from: { type: 'string' },
        against: { type: 'string' },
        topic: { type: 'string' },
        clientid: { type: 'string' },
        rule: { type: 'string' },
        duration: { type: 'string' },
        max: { type: 'string' },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        'version-V': { type: 'boolean', short: 'V' },
      },
    });
  } catch (err) {
    const cmd = argv.find((a) => !a.startsWith('-'));
    const more = cmd && COMMANDS[cmd] ? `sluice ${cmd} --help` : 'sluice --help';
    io.err(`sluice: ${usageError(err)} (see ${more})`);
    return 64;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.version || values['version-V']) {
    io.out(version());
    return 0;
  }
  if (command === 'help') {
    const topic = positionals[1];
    if (topic === undefined) io.out(HELP);
    else if (COMMANDS[topic]) io.out(COMMANDS[topic].help);
    else {
      io.err(`sluice: no help for ${JSON.stringify(topic)}: not a command (see sluice --help)`);
      return 64;
    }
    return 0;
  }
  if (values.help) {
    io.out(command && COMMANDS[command] ? COMMANDS[command].help : HELP);
    return 0;
  }
  const maxPositionals = command === 'api-key' ? 2 : command === 'test' ? Infinity : 1;
  if (positionals.length > maxPositionals) {
    io.err(
      `sluice: unexpected argument ${JSON.stringify(positionals[maxPositionals])} (see sluice ${command} --help)`,
    );
    return 64;
  }
  if (command !== undefined && COMMANDS[command]) {
    const allowed = COMMANDS[command].options;
    const wrong = Object.keys(values).filter((k) => !allowed.includes(k));
    if (wrong.length > 0) {
      io.err(
        `sluice ${command}: option --${wrong[0]} does not apply to ${command} (see sluice ${command} --help)`,
      );
      return 64;
    }
  }
  switch (command) {
    case 'run': {
      const f = values['log-format'];
      if (f !== undefined && f !== 'text' && f !== 'json' && f !== 'auto') {
        io.err(`sluice run: --log-format must be text, json or auto, got ${JSON.stringify(f)}`);
        return 64;
      }
      return run(resolveConfig(values.config), io, f);
    }
    case 'check':
      return check(resolveConfig(values.config), io);
    case 'test-rule': {
      if (values.sql === undefined) {
        io.err('sluice test-rule: --sql is required');
        return 64;
      }
      const r = testRule(values.sql, values.context);
      r.stdout.forEach((l) => io.out(l));
      r.stderr.forEach((l) => io.err(l));
      return r.exitCode;
    }
    case 'test': {
      const r = await testCommand(positionals.slice(1), {
        config: values.config,
        json: values.json === true,
      });
      r.stdout.forEach((l) => io.out(l));
      r.stderr.forEach((l) => io.err(l));
      return r.exitCode;
    }
    case 'plan': {
      if (
        values.config === undefined ||
        (values.from === undefined) === (values.against === undefined)
      ) {
        io.err('sluice plan: give -c NEW.yaml and one of --from OLD.yaml or --against URL');
        return 64;
      }
      const r = await planCommand(
        {
          config: values.config,
          ...(values.from !== undefined ? { from: values.from } : {}),
          ...(values.against !== undefined ? { against: values.against } : {}),
          json: values.json === true,
        },
        process.env,
      );
      r.stdout.forEach((l) => io.out(l));
      r.stderr.forEach((l) => io.err(l));
      return r.exitCode;
    }
    case 'hash-password': {
      const r = await hashPasswordCommand(
        {
          passwordStdin: values['password-stdin'] === true,
          algorithm: values.algorithm,
          iterations: values.iterations,
        },
        {
          readStdin: io.readStdin ?? readProcessStdin,
          prompt: 'prompt' in io ? io.prompt : terminalPrompt(),
        },
      );
      r.stdout.forEach((l) => io.out(l));
      r.stderr.forEach((l) => io.err(l));
      return r.exitCode;
    }
    case 'api-key':
      return apiKey(positionals[1], values, io);
    case 'trace':
      return traceCommand(values, {
        out: io.out,
        err: io.err,
        stopSignal: io.stopSignal ?? signalPromise(),
      });
    case undefined:
      io.err(HELP);
      return 64;
    default:
      io.err(`sluice: unknown command ${JSON.stringify(command)}\n\n${HELP}`);
      return 64;
  }
}

function check(file: string, io: CliIo): number {
  const r = checkConfig(file);
  const report = { ...r, issues: [...r.issues, ...(r.loaded ? apiPreflight(r.loaded) : [])] };
  for (const issue of report.issues) io.err(formatIssue(issue));
  if (report.issues.length) {
    io.err(`${report.issues.length} error(s) in ${file}`);
    return 1;
  }
  io.out(
    `${path.relative(process.cwd(), file) || file}: ok (${report.rules} rule(s), ${report.sinks} sink(s))`,
  );
  return 0;
}

async function run(file: string, io: CliIo, logFormat?: LogFormat): Promise<number> {
  let engine;
  try {
    engine = createEngine(file, logFormat ? { logFormat } : {});
  } catch (err) {
    const issues = (err as { context?: { issues?: Parameters<typeof formatIssue>[0][] } }).context
      ?.issues;
    if (issues) issues.forEach((i) => io.err(formatIssue(i)));
    else io.err(`sluice: ${(err as Error).message}`);
    return 1;
  }
  // A management API that would be exposed without authentication stops the start, before
  // the broker listens (docs/api.md#authentication).
  const apiIssues = apiPreflight(engine.config);
  if (apiIssues.length) {
    apiIssues.forEach((i) => io.err(formatIssue(i)));
    io.err('sluice: not started: fix the api section of the configuration');
    await engine.stop({ drainMs: 0 }).catch(() => undefined);
    return 1;
  }
  const stop = io.stopSignal ?? signalPromise();
  let addresses: BoundAddress[];
  try {
    addresses = await engine.start();
  } catch (err) {
    io.err(`sluice: cannot start: ${(err as Error).message}`);
    await engine.stop({ drainMs: 0 }).catch(() => undefined);
    return 1;
  }
  io.err(`sluice ${version()} running with ${path.relative(process.cwd(), file) || file}`);
  for (const a of addresses)
    io.err(
      `  MQTT ${a.type.padEnd(3)} listener ${a.name}: ${connectHint(a)}${a.type.startsWith('ws') ? ((engine.config.config.broker['listeners'] as Record<string, { path?: string }>)[a.name]?.path ?? '/mqtt') : ''}`,
    );
  for (const a of engine.ocpp?.addresses ?? [])
    io.err(
      `  OCPP ${a.type.padEnd(3)} listener ${a.name}: ${a.type}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}${a.path}/<charge point id>`,
    );
  const api = await startApi(engine, io);
  const rules = engine.rules();
  io.err(`  ${rules.length} rule(s): ${rules.map((r) => r.id).join(', ') || '(none)'}`);
  if (engine.startupIssues.length)
    io.err(`  ${engine.startupIssues.length} rule(s) not loaded (see errors above)`);
  io.err('  press Ctrl+C to stop');
  const sig = await stop;
  io.err(`sluice: ${sig} received, draining sinks…`);
  await api?.stop();
  const { dropped } = await engine.stop();
  if (dropped > 0) {
    io.err(
      `sluice: stopped; ${dropped} record(s) were not delivered before shutdown.drain_timeout (exit 3)`,
    );
    return 3;
  }
  io.err('sluice: stopped');
  return 0;
}

function apiHint(a: ApiAddress): string {
  return a.host === '0.0.0.0' || a.host === '::' ? `http://localhost:${a.port}` : a.url;
}

/**
 * Start the management API when `api.enabled` (docs/api.md). A failure to listen (port in
 * use, …) is reported and Sluice keeps running without it: the API observes the engine, and
 * MQTT traffic and rules do not depend on it. `api` settings changed by a hot reload are
 * reported as needing a restart.
 */
async function startApi(engine: Engine, io: CliIo): Promise<ApiServer | undefined> {
  const cfg = engine.config.config.api;
  const running = JSON.stringify(cfg);
  engine.onReload((r) => {
    if (r.ok && JSON.stringify(engine.config.config.api) !== running)
      io.err('sluice: api settings changed; they take effect after a restart');
  });
  if (!cfg.enabled) return undefined;
  const files = apiFiles(engine.config);
  const api = createApiServer(
    { engine, logger: engine.logger, version: version() },
    {
      bind: cfg.bind,
      port: cfg.port,
      token: cfg.token,
      keysFile: files.keysFile,
      bootstrapFile: files.bootstrapFile,
      auditLog: files.auditLog,
      maxBodySize: cfg.max_body_size,
      headersTimeout: cfg.headers_timeout,
      requestTimeout: cfg.request_timeout,
      authFailureLimit: cfg.auth_failure_limit,
      authFailureWindow: cfg.auth_failure_window,
      dashboardDir: cfg.dashboard ? path.join(packageRoot, 'dist', 'web') : undefined,
    },
  );
  try {
    const a = await api.start();
    const keys = apiCredentials(engine.config) - (cfg.token ? 1 : 0);
    const auth =
      keys > 0
        ? `, API key${cfg.token ? ' or bearer token' : ''} required (${keys} key(s))`
        : cfg.token
          ? ', bearer token required'
          : '';
    io.err(`  management API: ${apiHint(a)}/api/v5 (Prometheus: ${apiHint(a)}/metrics)${auth}`);
    if (cfg.dashboard) io.err(`  dashboard: ${apiHint(a)}/`);
    return api;
  } catch (err) {
    io.err(
      `sluice: ${(err as Error).message}; running without it (set api.port, or api.enabled: false)`,
    );
    return undefined;
  }
}

/** `sluice api-key …`: the key file comes from --keys-file, or from -c / ./sluice.yaml. */
function apiKey(
  sub: string | undefined,
  values: { config?: string; name?: string; role?: string; expires?: string; 'keys-file'?: string },
  io: CliIo,
): number {
  let keysFile: string;
  if (values['keys-file'] !== undefined) keysFile = path.resolve(values['keys-file']);
  else {
    const file = values.config ?? (existsSync('sluice.yaml') ? 'sluice.yaml' : undefined);
    if (file === undefined) {
      io.err(
        'sluice api-key: no ./sluice.yaml here: give -c FILE (its api.keys_file is used) or --keys-file FILE',
      );
      return 64;
    }
    const report = checkConfig(file);
    if (!report.loaded) {
      report.issues.forEach((i) => io.err(formatIssue(i)));
      return 1;
    }
    keysFile = apiFiles(report.loaded).keysFile;
  }
  const r = apiKeyCommand(sub, keysFile, values);
  r.stdout.forEach((l) => io.out(l));
  r.stderr.forEach((l) => io.err(l));
  return r.exitCode;
}
