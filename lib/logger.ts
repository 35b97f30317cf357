/** The slice of pino's interface the framework-free core logs through. */
export interface Logger {
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child: (bindings: Record<string, unknown>) => Logger
}

type LogFn = (obj: unknown, msg?: string) => void

const noop = (): void => {}

/** A logger that drops everything (tests, library use without fastify). */
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger
}
