/**
 * External event sources (README.md): an existing MQTT broker (`mqtt`) or Kafka (`kafka`)
 * feeding the engine's event bus like the embedded broker, with acknowledgements held until
 * the rule work is done.
 */
import { createKafkaSource } from './kafka/source.js';
import { createMqttSource } from './mqtt/source.js';
import type { SourcesConfig } from './spec.js';
import type { Source, SourceDeps } from './types.js';

export { SourceErrors } from './errors.js';
export { sourcesSpec, checkSources } from './spec.js';
export type { KafkaSourceConfig, MqttSourceConfig, SourceMode, SourcesConfig } from './spec.js';
export type { DeliveryTracker, Source, SourceDeps, SourceMetrics } from './types.js';
export { sharedFilter } from './mqtt/source.js';

/** The configured external source, or undefined in `embedded` mode. */
export function createSource(deps: SourceDeps, config: SourcesConfig): Source | undefined {
  const opts = { ackTimeout: config.ack_timeout };
  if (config.mode === 'mqtt') return createMqttSource(deps, config.mqtt, opts);
  if (config.mode === 'kafka') return createKafkaSource(deps, config.kafka, opts);
  return undefined;
}
