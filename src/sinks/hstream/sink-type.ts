/**
 * The `hstreamdb` SinkType registered by src/engine (sinks.ts). `runnerSpec` carries the runner fields with
 * this sink's defaults (EMQX's HStreamDB action: batch 100, interval 500 ms), read by the engine.
 */
import type { FieldSpec, SinkType } from '../../core/index.js';
import { runnerConfigSpecWith } from '../runner/index.js';
import { createHStreamSink } from './sink.js';
import { HSTREAM_RUNNER_DEFAULTS, hstreamSinkSpec, type HStreamSinkConfig } from './spec.js';

export const hstreamSinkType: SinkType<HStreamSinkConfig> & { runnerSpec: FieldSpec } = {
  type: 'hstreamdb',
  spec: hstreamSinkSpec,
  runnerSpec: runnerConfigSpecWith(HSTREAM_RUNNER_DEFAULTS),
  create: (deps, config, name) => createHStreamSink(deps, config, name),
};
