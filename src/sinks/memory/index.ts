/** The in-memory collecting sink with fault injection (tests, examples, benchmarks). */
export { createMemorySink, memorySinkSpec, memorySinkType } from './memory-sink.js';
export type { MemorySink, MemorySinkConfig } from './memory-sink.js';
export { MemoryErrors } from './errors.js';
