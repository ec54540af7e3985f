/** The `schema_validation:` / `message_transformation:` sections for src/runtime/ingress. */
import type { IngressSections as IngressConfig } from '../runtime/index.js';

/** The ingress sections of a loaded config (defaults filled by the spec). */
export function ingressConfigOf(cfg: {
  schema_validation?: Record<string, unknown>;
  message_transformation?: Record<string, unknown>;
}): IngressConfig {
  return {
    ...(cfg.schema_validation
      ? {
          schema_validation: cfg.schema_validation as unknown as IngressConfig['schema_validation'],
        }
      : {}),
    ...(cfg.message_transformation
      ? {
          message_transformation:
            cfg.message_transformation as unknown as IngressConfig['message_transformation'],
        }
      : {}),
  };
}
