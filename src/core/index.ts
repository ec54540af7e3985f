export * from './values.js';
export * from './errors.js';
export * from './retry.js';
export * from './events.js';
export * from './spec.js';
export * from './sink.js';
export * from './logger.js';
export * from './outcome.js';
