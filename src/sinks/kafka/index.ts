/**
 * Kafka sink (src/sinks/kafka) — the only code importing kafkajs and kerberos.
 *  - `kafkaSinkType`: the `SinkType` registered by src/engine (sinks.ts) as `type: kafka`; its `spec` is the
 *    Kafka settings, `runnerSpec` the runner settings with Kafka defaults;
 *  - `createKafkaSink`: the sink itself (for tests and benchmarks);
 *  - `KafkaErrors`: the error codes.
 */
import './kafkajs-patch.js'; // must run before kafkajs loads
import type { SinkType, SluiceError } from '../../core/index.js';
import { loadKerberos } from './gssapi/kerberos-module.js';
import { kafkaSpec, kafkaRunnerSpec } from './config.js';
import type { KafkaSinkConfig } from './config.js';
import { createKafkaSink } from './sink.js';

export { kafkaSpec, kafkaRunnerSpec } from './config.js';
export type { KafkaSinkConfig, Acks, Compression, Mechanism, PartitionStrategy } from './config.js';
export { createKafkaSink, checkKafkaConfig } from './sink.js';
/** Rule output → Kafka record, as the sink maps it (also used by `sluice test`). */
export { createMessageMapper } from './message.js';
export type { MessageMapper, PreparedMessage } from './message.js';
export type { KafkaSink, KafkaSinkDeps, KafkaSinkStats } from './sink.js';
export { KafkaErrors } from './errors.js';
/** Whether the kafkajs replacements (kafkajs-patch.ts) are in effect in this process. */
export { installed as kafkajsPatchInstalled } from './kafkajs-patch.js';
export { murmur2, keyPartition } from './murmur2.js';
export { createCredentialStore } from './gssapi/credentials.js';
export type { CredentialStore } from './gssapi/credentials.js';

/** `type: kafka`. `runnerSpec` (extra, optional for the engine) = runner fields with Kafka defaults. */
export const kafkaSinkType: SinkType<KafkaSinkConfig> & {
  readonly runnerSpec: typeof kafkaRunnerSpec;
} = {
  type: 'kafka',
  spec: kafkaSpec,
  runnerSpec: kafkaRunnerSpec,
  create: (deps, config, name) => createKafkaSink(deps, config, name),
  preflight(config) {
    if (config.authentication?.mechanism !== 'gssapi') return [];
    try {
      loadKerberos();
      return [];
    } catch (err) {
      return [
        {
          code: (err as SluiceError).code ?? 'kafka_gssapi_unavailable',
          path: 'authentication.mechanism',
          reason: (err as Error).message,
        },
      ];
    }
  },
};
