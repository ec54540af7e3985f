/**
 * Coded errors. Every error Sluice raises on purpose is a `SluiceError` with a stable `code`
 * (documented in docs/errors.md; a test keeps the two in sync), a `retriable` flag that the sink
 * runner's retry reads, an optional `cause` and free-form context fields.
 *
 * Modules declare their codes with `defineErrors()` in their own `errors.ts` so that the full
 * catalogue can be enumerated (`allErrorCodes()`) for the docs check.
 */

export interface ErrorContext {
  [key: string]: unknown;
}

export interface SluiceErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  context?: ErrorContext;
}

export class SluiceError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(code: string, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

export interface ErrorCodeSpec {
  /** One-line meaning, reproduced in docs/errors.md. */
  description: string;
  /** Default retriability for errors with this code. */
  retriable: boolean;
}

const registry = new Map<string, ErrorCodeSpec & { module: string }>();

/**
 * Declare a module's error codes once. Returns a typed factory per code:
 * `const E = defineErrors('sinks', { sink_not_connected: {...} }); throw E.sink_not_connected('…')`.
 */
export function defineErrors<K extends string>(
  module: string,
  specs: Record<K, ErrorCodeSpec>,
): Record<K, (message: string, options?: SluiceErrorOptions) => SluiceError> {
  const out = {} as Record<K, (message: string, options?: SluiceErrorOptions) => SluiceError>;
  for (const code of Object.keys(specs) as K[]) {
    const spec = specs[code];
    registry.set(code, { ...spec, module });
    out[code] = (message, options = {}) =>
      new SluiceError(code, message, {
        ...options,
        retriable: options.retriable ?? spec.retriable,
      });
  }
  return out;
}

/** Every declared code (for the docs/errors.md consistency test). */
export function allErrorCodes(): ReadonlyMap<string, ErrorCodeSpec & { module: string }> {
  return registry;
}

export function isRetriable(err: unknown): boolean {
  return err instanceof SluiceError && err.retriable;
}
