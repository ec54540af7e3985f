/** The console sink: rule outputs as JSON lines on stdout (or a given stream). */
export {
  createConsoleSink,
  consoleSinkSpec,
  consoleSinkType,
  formatConsoleLine,
} from './console-sink.js';
export type { ConsoleSinkConfig, LineStream } from './console-sink.js';
export { ConsoleErrors } from './errors.js';
