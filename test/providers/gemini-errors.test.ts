import t from 'tap'
import { GeminiError, toGeminiError } from '../../lib/providers/gemini/gemini-error.js'
import { isRetryableError } from '../../lib/providers/retry.js'

class ApiError extends Error {
  override name = 'ApiError'
  constructor (message: string, readonly status: number) { super(message) }
}

t.test('an SDK ApiError becomes a GeminiError with Google\'s status and message, its key scrubbed', async t => {
  const body = { error: { code: 429, message: 'Quota exceeded for key=AIzaSyDUMMYdummyDUMMYdummyDUMMYdummy12', status: 'RESOURCE_EXHAUSTED' } }
  const error = toGeminiError(new ApiError(JSON.stringify(body), 429))
  t.ok(error instanceof GeminiError)
  t.match(error, { kind: 'rate_limit', status: 429, code: 'RESOURCE_EXHAUSTED', message: /^429 RESOURCE_EXHAUSTED: Quota exceeded/ })
  t.notMatch((error as Error).message, /AIzaSyDUMMY/, 'the key is scrubbed')
  t.equal(isRetryableError(error), true)
})

t.test('an error event inside the stream (the SDK prefixes "got status") is read the same way', async t => {
  const error = toGeminiError(new ApiError('got status: UNAVAILABLE. {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}', 503))
  t.match(error, { kind: 'server', status: 503, code: 'UNAVAILABLE', message: /overloaded/ })
})

t.test('a 404 is a request failure, not retried; a body that is not JSON keeps the status', async t => {
  const notFound = toGeminiError(new ApiError('{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}', 404))
  t.match(notFound, { kind: 'request', code: 'NOT_FOUND' })
  t.equal(isRetryableError(notFound), false)
  t.match(toGeminiError(new ApiError('Bad Gateway', 502)), { kind: 'server', code: 'HTTP_502', status: 502 })
})

t.test('fetch failures are network errors (retryable); other errors, aborts and bugs pass unchanged', async t => {
  const refused = toGeminiError(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }))
  t.match(refused, { kind: 'network', code: 'ECONNREFUSED' })
  t.equal(isRetryableError(refused), true)
  const bug = new TypeError('Cannot read properties of undefined (reading \'parts\')')
  t.equal(toGeminiError(bug), bug)
  const abort = new DOMException('This operation was aborted', 'AbortError')
  t.equal(toGeminiError(abort), abort)
  t.equal(toGeminiError('text'), 'text')
})
