/**
 * The module boundaries of eslint.config.js hold: a forbidden import fails lint, an allowed one
 * passes. Linted as text under a path inside each module (nothing is written to src/).
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function restricted(file: string, specifier: string): Promise<string[]> {
  const code = `import { x } from '${specifier}';\nexport const y = x;\n`;
  const [r] = await eslint.lintText(code, { filePath: file });
  return r!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint boundaries', () => {
  it.each([
    ['src/sinks/republish/probe.ts', 'aedes'],
    ['src/sinks/republish/probe.ts', 'chevrotain'],
    ['src/sinks/republish/probe.ts', '../../config/spec.js'],
    ['src/sinks/republish/probe.ts', '../../broker/index.js'],
    ['src/sinks/console/probe.ts', '../kafka/index.js'],
    ['src/sinks/memory/probe.ts', '../hstream/index.js'],
    ['src/sinks/hstream/probe.ts', '../kafka/index.js'],
    ['src/sinks/kafka/probe.ts', '../republish/index.js'],
    ['src/sinks/runner/probe.ts', '../republish/index.js'],
    ['src/config/probe.ts', '../runtime/index.js'],
    ['src/config/probe.ts', '../engine/index.js'],
    ['src/core/probe.ts', '../engine/index.js'],
    ['src/runtime/probe.ts', '../config/index.js'],
    ['src/runtime/probe.ts', '../sinks/kafka/index.js'],
    ['src/broker/probe.ts', '../runtime/index.js'],
    ['src/api/probe.ts', '../engine/index.js'],
    ['src/engine/probe.ts', '../broker/broker.js'],
    ['src/engine/probe.ts', '../cli/main.js'],
    ['src/cli/probe.ts', '../sinks/kafka/index.js'],
    ['src/runtime/probe.ts', 'aedes'],
    ['src/broker/probe.ts', 'kafkajs'],
    ['src/ocpp/probe.ts', '../broker/index.js'],
    ['src/ocpp/probe.ts', '../runtime/index.js'],
    ['src/ocpp/probe.ts', '../engine/index.js'],
    ['src/ocpp/probe.ts', '../core/ports.js'],
    ['src/broker/probe.ts', '../ocpp/index.js'],
    ['src/runtime/probe.ts', '../ocpp/index.js'],
    ['src/engine/probe.ts', '../ocpp/gateway.js'],
    ['src/broker/probe.ts', 'typed-ocpp'],
    ['src/sources/probe.ts', '../broker/index.js'],
    ['src/sources/mqtt/probe.ts', '../../runtime/index.js'],
    ['src/sources/kafka/probe.ts', '../../sinks/kafka/index.js'],
    ['src/sources/probe.ts', '../engine/index.js'],
    ['src/sources/probe.ts', 'aedes'],
    ['src/runtime/probe.ts', '../sources/index.js'],
    ['src/engine/probe.ts', '../sources/mqtt/source.js'],
    ['src/schema-registry/probe.ts', '../runtime/index.js'],
    ['src/schema-registry/probe.ts', '../config/index.js'],
    ['src/runtime/probe.ts', '../schema-registry/index.js'],
    ['src/config/probe.ts', '../schema-registry/index.js'],
    ['src/api/probe.ts', '../schema-registry/index.js'],
    ['src/runtime/probe.ts', 'avsc'],
    ['src/ocpp/probe.ts', 'protobufjs'],
    ['src/engine/probe.ts', '../schema-registry/avro.js'],
  ])('%s may not import %s', async (file, specifier) => {
    expect((await restricted(file, specifier)).length).toBeGreaterThan(0);
  });

  it.each([
    ['src/sinks/republish/probe.ts', '../runner/index.js'],
    ['src/sinks/republish/probe.ts', '../../core/index.js'],
    ['src/sinks/kafka/probe.ts', 'kafkajs'],
    ['src/sinks/hstream/probe.ts', '@grpc/grpc-js'],
    ['src/broker/probe.ts', 'aedes'],
    ['src/config/probe.ts', '../sql-parser/index.js'],
    ['src/engine/probe.ts', '../broker/index.js'],
    ['src/engine/probe.ts', '../sinks/republish/index.js'],
    ['src/cli/probe.ts', '../engine/index.js'],
    ['src/api/probe.ts', '../runtime/index.js'],
    ['src/ocpp/probe.ts', '../core/index.js'],
    ['src/ocpp/probe.ts', 'ws'],
    ['src/ocpp/probe.ts', 'typed-ocpp'],
    ['src/engine/probe.ts', '../ocpp/index.js'],
    ['src/sources/kafka/probe.ts', 'kafkajs'],
    ['src/sources/mqtt/probe.ts', 'mqtt'],
    ['src/sources/kafka/probe.ts', '../../core/index.js'],
    ['src/engine/probe.ts', '../sources/index.js'],
    ['src/schema-registry/probe.ts', '../core/index.js'],
    ['src/schema-registry/probe.ts', 'avsc'],
    ['src/schema-registry/probe.ts', 'protobufjs'],
    ['src/schema-registry/probe.ts', 'ajv-draft-04'],
    ['src/sinks/hstream/probe.ts', 'protobufjs'],
    ['src/engine/probe.ts', '../schema-registry/index.js'],
  ])('%s may import %s', async (file, specifier) => {
    expect(await restricted(file, specifier)).toEqual([]);
  });
});
