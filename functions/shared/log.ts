/** The logging surface domain code needs; Powertools' Logger satisfies it, and so does a test spy. */
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** A Log that drops everything (tests, benchmarks). */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
