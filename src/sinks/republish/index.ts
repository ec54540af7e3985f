/** The republish sink: EMQX's republish action over an injected broker publish port. */
export {
  checkRepublishConfig,
  createRepublishSink,
  createRepublishSinkType,
  republishSinkType,
  republishVia,
  MQTT_PROPERTY_NAMES,
  republishSinkSpec,
} from './republish-sink.js';
export type {
  PublishPort,
  RepublishConfig,
  RepublishMessage,
  RepublishProperties,
} from './republish-sink.js';
export { RepublishErrors } from './errors.js';
