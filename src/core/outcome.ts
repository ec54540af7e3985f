/**
 * What one rule made of one event (CONVENTIONS.md #4): a per-message failure is a value, not a
 * stream error. The runtime produces these; metrics, logs and the engine's output routing
 * consume them.
 */
import type { ValueMap } from './values.js';

export type RuleOutcome =
  /** The rule produced outputs (one for SELECT, one per element for FOREACH; never empty). */
  | { readonly kind: 'passed'; readonly outputs: readonly ValueMap[] }
  /** WHERE was false, or FOREACH/INCASE left nothing (EMQX `failed.no_result`). */
  | { readonly kind: 'filtered' }
  /** An evaluation error (EMQX `failed.exception`); `code` is the EMQX-like error code. */
  | {
      readonly kind: 'failed';
      readonly code: string;
      readonly reason: string;
      readonly error?: unknown;
    };
