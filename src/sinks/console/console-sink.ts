/**
 * The console sink: prints each rule output as one JSON line (EMQX's `console` action, made
 * machine-readable). By default a line is the output object itself, encoded like every sink
 * encodes rule outputs (`encodeJson`: compact, `2.0` stays a float, Buffers as UTF-8 text);
 * with `envelope: true` it is `{"rule":…,"ts":…,"output":{…}}` (+ `"context"` on request).
 *
 * A batch is written with ONE `stream.write` and acknowledged when the stream accepted it
 * (its callback fired), so a slow terminal or pipe back-pressures the runner.
 */
import { encodeJson, field } from '../../core/index.js';
import type { Sink, SinkDeps, SinkRecord, SinkType } from '../../core/index.js';
import { ConsoleErrors } from './errors.js';

export interface ConsoleSinkConfig {
  envelope?: boolean;
  include_context?: boolean;
}

/** The part of a Writable the console sink needs (stdout, a file stream, a test collector). */
export interface LineStream {
  write(chunk: string, callback: (err?: Error | null) => void): boolean;
}

export function formatConsoleLine(record: SinkRecord, config: ConsoleSinkConfig): string {
  if (!config.envelope) return encodeJson(record.data);
  let line = `{"rule":${JSON.stringify(record.ruleId)},"ts":${record.ingestTs},"output":${encodeJson(record.data)}`;
  if (config.include_context && record.context) line += `,"context":${encodeJson(record.context)}`;
  return line + '}';
}

export function createConsoleSink(
  config: ConsoleSinkConfig = {},
  stream: LineStream = process.stdout,
): Sink {
  return {
    async connect() {},
    write(batch) {
      let text = '';
      for (const r of batch) text += formatConsoleLine(r, config) + '\n';
      return new Promise<void>((resolve, reject) => {
        const fail = (err: unknown): void =>
          reject(
            ConsoleErrors.console_write_failed(
              `console write failed: ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            ),
          );
        try {
          stream.write(text, (err) => (err ? fail(err) : resolve()));
        } catch (err) {
          fail(err);
        }
      });
    },
    async close() {},
    sizeOf: (r) => formatConsoleLine(r, config).length + 1,
  };
}

export const consoleSinkSpec = field.object(
  {
    envelope: field.boolean({
      description:
        'Wrap each output as {"rule", "ts", "output"} instead of printing the output object alone.',
      default: false,
    }),
    include_context: field.boolean({
      description:
        'With envelope: also print the triggering event columns as "context" (may include payloads; for debugging only).',
      default: false,
    }),
  },
  { description: 'Prints rule outputs to standard output, one JSON object per line.' },
);

export const consoleSinkType: SinkType<ConsoleSinkConfig> = {
  type: 'console',
  spec: consoleSinkSpec,
  create: (_deps: SinkDeps, config: ConsoleSinkConfig) => createConsoleSink(config),
};
