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

/** Keys whose values are secrets, wherever they appear at the top of a log object or one level down. */
const SECRET_KEYS = [
  'authorization', 'cookie', 'apiKey', 'api_key', 'secret', 'token', 'accessToken', 'password', 'turnSecret',
  'JWT_SECRET', 'TURN_SECRET', 'OPENAI_API_KEY', 'DEEPGRAM_API_KEY', 'CARTESIA_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'ELEVENLABS_API_KEY', 'ANTHROPIC_API_KEY',
  'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'secretAccessKey', 'sessionToken',
  'TWILIO_AUTH_TOKEN', 'authToken', 'PLIVO_AUTH_TOKEN', 'TELNYX_API_KEY'
]

/** pino `redact` paths for what llmrtc (or an app around it) might log by mistake: keys, tokens, secrets. */
export const redactPaths: string[] = [
  'req.headers.authorization', 'req.headers.cookie', 'req.query.token', 'jwt.secret', '*.jwt.secret',
  ...SECRET_KEYS.flatMap(key => [key, `*.${key}`])
]

/** Query parameters that carry credentials (the WebSocket token of a browser, `?token=`). */
const SECRET_QUERY = /([?&](?:token|access_token|jwt)=)[^&#]*/gi

/** `url` with the values of credential query parameters replaced by `[Redacted]`. */
export function redactUrl (url: string): string {
  return url.replace(SECRET_QUERY, '$1[Redacted]')
}

/** The request in Fastify's request logs, as Fastify's own serializer writes it, minus credentials in the URL. */
export function serializeRequest (req: { method?: string, url?: string, host?: string, ip?: string, headers?: Record<string, unknown>, socket?: { remotePort?: number } | null }): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : redactUrl(req.url),
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort
  }
}

/**
 * An error as pino's own `err` serializer writes it, but with each message of the cause chain stated once.
 * pino appends every cause's message to the error's (`a: b: c`); a provider error already names its
 * cause ("LLM provider "openai-llm" failed: Connection error.") and SDK errors often wrap an error with
 * the same message (Deepgram's "fetch failed" around undici's), so the plain serializer says
 * "Connection error.: Connection error.: fetch failed". A cause whose message is already in the text is
 * skipped; its stack is still listed.
 */
export function serializeError (err: Error): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err), stack: '' }
  const chain: Error[] = []
  for (let e: unknown = err; e instanceof Error && !chain.includes(e) && chain.length < 10; e = e.cause) chain.push(e)
  let message = err.message
  for (const cause of chain.slice(1)) {
    if (cause.message !== '' && !message.includes(cause.message)) message += `: ${cause.message}`
  }
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(err)) if (key !== 'cause' && !(value instanceof Error)) fields[key] = value
  return {
    ...fields,
    type: err.constructor.name,
    message,
    stack: chain.map(e => e.stack ?? `${e.name}: ${e.message}`).join('\ncaused by: ')
  }
}

/** An error as a log line carries it (the shape Fastify's `err` serializer returns). */
export interface SerializedError { type: string, message: string, stack: string, [key: string]: unknown }

/** Child-logger options that write errors with serializeError (for llmrtc's own log lines in a host app). */
export const childLoggerOptions = { serializers: { err: serializeError } }

/**
 * Logger options llmrtc's own servers (LLMRTCServer, the CLI, app.ts under fastify-cli) start Fastify
 * with: secrets redacted, no token in logged URLs. Spread them into your own `logger` option.
 */
export const loggerOptions = {
  redact: { paths: redactPaths, censor: '[Redacted]' },
  serializers: { req: serializeRequest, err: serializeError }
}
