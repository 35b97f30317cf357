import { isWav } from '../../audio/wav.js'
import { LLMRTC_ERR_TTS, LLMRTC_ERR_TTS_TIMEOUT } from '../../errors.js'
import { linkSignals } from '../../streams/link-signals.js'
import { retry } from '../retry.js'
import { scrubSecrets } from '../scrub-secrets.js'
import type { ResolvedPiperOptions } from './piper-options.js'

/** The provider name Piper's errors carry. */
export const PIPER = 'piper'

/** What a Piper server revealed about itself: piper1-gpl after 1.3 synthesises at `/synthesize`. */
export interface PiperRoute {
  path: '/' | '/synthesize'
}

/**
 * One synthesis: the WAV file the server answers for `text`. Retried on connection errors and 5xx
 * within `requestTimeoutMs` (the deadline covers the retries). Rejects with `signal`'s reason when
 * aborted, LLMRTC_ERR_TTS_TIMEOUT past the deadline, else LLMRTC_ERR_TTS (HTTP status, connection
 * error code, or an answer that is not a WAV).
 */
export async function requestPiperWav (o: ResolvedPiperOptions, route: PiperRoute, text: string, signal: AbortSignal | undefined): Promise<Buffer> {
  signal?.throwIfAborted()
  const deadline = AbortSignal.timeout(o.requestTimeoutMs)
  const link = signal !== undefined ? linkSignals(signal, deadline) : undefined
  const joined = link?.signal ?? deadline
  try {
    return await retry(async () => await attempt(o, route, text, joined), { retries: o.maxRetries, baseDelayMs: o.retryBaseDelayMs, signal: joined })
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason
    if (deadline.aborted) throw new LLMRTC_ERR_TTS_TIMEOUT(PIPER, o.requestTimeoutMs, { cause: error })
    throw isOurs(error) ? error : new LLMRTC_ERR_TTS(PIPER, describe(error), { cause: error })
  } finally {
    link?.dispose()
  }
}

async function attempt (o: ResolvedPiperOptions, route: PiperRoute, text: string, signal: AbortSignal): Promise<Buffer> {
  let response = await post(o, route.path, text, signal)
  // A later piper1-gpl serves a web page at GET / and synthesises at /synthesize: switch once, for good.
  if (o.api === 'piper1' && route.path === '/' && (response.status === 404 || response.status === 405)) {
    await response.body?.cancel()
    route.path = '/synthesize'
    response = await post(o, route.path, text, signal)
  }
  if (!response.ok) {
    const detail = await briefText(response)
    throw new LLMRTC_ERR_TTS(PIPER, `HTTP ${response.status}${detail !== '' ? ` ${detail}` : ''}`, { cause: { status: response.status } })
  }
  const wav = Buffer.from(await response.arrayBuffer())
  // Flask labels the WAV text/html: judge the bytes, not the content type.
  if (!isWav(wav)) throw new LLMRTC_ERR_TTS(PIPER, `expected a WAV answer, instead got ${wav.length} bytes of ${response.headers.get('content-type') ?? 'unknown type'}`)
  return wav
}

async function post (o: ResolvedPiperOptions, path: string, text: string, signal: AbortSignal): Promise<Response> {
  const url = `${o.url}${path}`
  if (o.api === 'rhasspy') {
    return await fetch(url, { method: 'POST', body: text, headers: { 'content-type': 'text/plain; charset=utf-8' }, signal })
  }
  const body = {
    text,
    ...(o.voice !== undefined ? { voice: o.voice } : {}),
    ...(o.speaker !== undefined ? { speaker: o.speaker } : {}),
    ...(o.speakerId !== undefined ? { speaker_id: o.speakerId } : {}),
    ...(o.lengthScale !== undefined ? { length_scale: o.lengthScale } : {}),
    ...(o.noiseScale !== undefined ? { noise_scale: o.noiseScale } : {}),
    ...(o.noiseWScale !== undefined ? { noise_w_scale: o.noiseWScale } : {})
  }
  return await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal })
}

/** The first line of a short plain-text error body (Flask's are HTML: those are left out). */
async function briefText (response: Response): Promise<string> {
  const text = await response.text().catch(() => '')
  if (/^\s*</.test(text)) return ''
  return scrubSecrets(text.trim().split('\n')[0]?.slice(0, 200) ?? '')
}

function isOurs (error: unknown): boolean {
  return String((error as { code?: unknown } | null)?.code ?? '').startsWith('LLMRTC_ERR_')
}

function describe (error: unknown): string {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^(E[A-Z]|UND_ERR)/.test(code)) return `connection failed (${code})`
  }
  return scrubSecrets(error instanceof Error ? error.message : String(error))
}
