/**
 * The logging contract. src/engine creates one pino root and passes child loggers down; modules
 * only see this interface, so tests can pass `silentLogger` or a collecting logger.
 * Never log payloads at info; nothing per message above debug (CONVENTIONS.md #12).
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
