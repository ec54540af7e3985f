/** The `hstreamdb` SinkType registered by engine.ts. */
import type { SinkType } from '../../core/index.js';
import { createHStreamSink } from './sink.js';
import { hstreamSinkSpec, type HStreamSinkConfig } from './spec.js';

export const hstreamSinkType: SinkType<HStreamSinkConfig> = {
  type: 'hstreamdb',
  spec: hstreamSinkSpec,
  create: (deps, config, name) => createHStreamSink(deps, config, name),
};
