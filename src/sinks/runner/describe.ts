import { SluiceError } from '../../core/index.js';

/** The loggable facts of an error (code and retriability for SluiceErrors). */
export function describeError(err: unknown): Record<string, unknown> {
  if (err instanceof SluiceError)
    return { code: err.code, message: err.message, retriable: err.retriable };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { value: String(err) };
}
