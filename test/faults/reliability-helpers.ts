import { createHook } from 'node:async_hooks'
import type { Test } from 'tap'
import { decodeWav, encodeWav } from '../../lib/audio/wav.js'
import type { LLMChunk, LLMProvider, LLMRequest, LLMResult, STTConfig, STTProvider, STTResult, TTSConfig, TTSProvider, TTSResult } from '../../lib/providers/types.js'
import type { RecordingSocket } from '../helpers/ws-client.js'
import { untilAborted } from '../fakes/scripted-providers.js'
import { until } from '../helpers/speech-events.js'

/*
 * Shared by the reliability tests (test/fuzz, test/faults, test/soak): crash listeners, resource
 * counts for leak checks, a recognisable utterance and providers that answer at once.
 */

/** Records uncaught exceptions and unhandled rejections for the rest of the file (listeners removed at its end). */
export function watchCrashes (t: Test): unknown[] {
  const crashes: unknown[] = []
  const onCrash = (err: unknown): void => { crashes.push(err) }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  t.teardown(() => {
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
  })
  return crashes
}

export type ResourceCounts = Record<string, number>

/**
 * Live resources by type: what `process.getActiveResourcesInfo()` lists (ref'd handles, requests and
 * timers: TCPSocketWrap, TCPServerWrap, ProcessWrap, Timeout...) plus `Timer (any)`, every timer alive,
 * ref'd or not (llmrtc's own timers are unref'd, so the first list alone would miss their leaks),
 * counted with an async hook from `start()` on.
 */
export class ResourceCounter {
  readonly #timers = new Set<number>()
  readonly #hook = createHook({
    init: (id, type) => { if (type === 'Timeout') this.#timers.add(id) },
    destroy: (id) => { this.#timers.delete(id) }
  })

  start (): this {
    this.#hook.enable()
    return this
  }

  stop (): void {
    this.#hook.disable()
  }

  counts (): ResourceCounts {
    const counts: ResourceCounts = {}
    for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
    counts['Timer (any)'] = this.#timers.size
    return counts
  }

  /**
   * Waits until no type exceeds `baseline` by more than its tolerance (`default` for unnamed types),
   * polling for at most `maxWaitMs` (a bound for slow clean-ups, not a timing assertion: keep-alive
   * sockets and AbortSignal.timeout timers go away on their own schedule). Returns the types still in
   * excess: empty when everything went back.
   */
  async settle (baseline: ResourceCounts, tolerance: Record<string, number> = {}, maxWaitMs = 15_000): Promise<Record<string, { baseline: number, now: number }>> {
    const started = Date.now()
    for (;;) {
      const now = this.counts()
      const excess: Record<string, { baseline: number, now: number }> = {}
      for (const [type, count] of Object.entries(now)) {
        const allowed = (baseline[type] ?? 0) + (tolerance[type] ?? tolerance.default ?? 0)
        if (count > allowed) excess[type] = { baseline: baseline[type] ?? 0, now: count }
      }
      if (Object.keys(excess).length === 0 || Date.now() - started > maxWaitMs) return excess
      await sleep(100)
    }
  }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Polls `condition` until it holds, for at most `maxWaitMs` (then throws naming `what`): the testing kit's `until`. */
export async function eventually (condition: () => boolean, what: string, maxWaitMs = 15_000): Promise<void> {
  await until(condition, what, maxWaitMs)
}

/** The sample value of the utterance `MarkedSTT` recognises (fuzzed audio never holds it throughout). */
const MARK = 1234

/** 100 ms of 16 kHz mono PCM at one odd value, as a WAV: the utterance `MarkedSTT` hears as `HEARD_TEXT`. */
export function markedUtterance (ms = 100): Buffer {
  return encodeWav(new Int16Array(16 * ms).fill(MARK), 16_000)
}

export const HEARD_TEXT = 'hello there'

/**
 * An STT that hears `HEARD_TEXT` in `markedUtterance()` and nothing (an empty transcript) in anything
 * else, so that fuzzed audio never reaches the LLM. Counts its calls; can be told to fail or hang.
 */
export class MarkedSTT implements STTProvider {
  readonly name = 'marked-stt'
  calls = 0
  /** What the next calls do instead of answering: an Error to throw, or 'hang' (until aborted). */
  readonly faults: Array<Error | 'hang'> = []

  async transcribe (audio: Buffer, config?: STTConfig): Promise<STTResult> {
    this.calls++
    const fault = this.faults.shift()
    if (fault === 'hang') return await untilAborted(config?.signal)
    if (fault !== undefined) throw fault
    config?.signal?.throwIfAborted()
    return { text: isMarked(audio) ? HEARD_TEXT : '', isFinal: true }
  }
}

function isMarked (audio: Buffer): boolean {
  try {
    const { samples } = decodeWav(audio)
    return samples.length > 0 && samples.every(s => s === MARK)
  } catch {
    return false
  }
}

export { untilAborted }

export const ANSWER = 'Sure. Here you go.'

/** An LLM that streams `ANSWER` in two chunks; the next calls may be told to hang until aborted. Counts requests and aborts. */
export class InstantLLM implements LLMProvider {
  readonly name = 'instant-llm'
  requests = 0
  aborted = 0
  hangNext = 0

  async complete (request: LLMRequest): Promise<LLMResult> {
    let fullText = ''
    for await (const chunk of this.stream(request)) fullText += chunk.content
    return { fullText }
  }

  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    this.requests++
    request.signal?.addEventListener('abort', () => { this.aborted++ }, { once: true })
    if (this.hangNext > 0) {
      this.hangNext--
      await untilAborted(request.signal)
    }
    yield { content: 'Sure. ', done: false }
    yield { content: 'Here you go.', done: false }
    yield { content: '', done: true }
  }
}

/** A TTS that yields 100 ms of 16 kHz PCM per sentence, at once. */
export class InstantTTS implements TTSProvider {
  readonly name = 'instant-tts'
  readonly pcmSampleRate = 16_000
  readonly #pcm = Buffer.from(new Int16Array(1600).fill(2000).buffer)

  async speak (_text: string, config?: TTSConfig): Promise<TTSResult> {
    config?.signal?.throwIfAborted()
    return { audio: this.#pcm, format: 'pcm', sampleRate: 16_000 }
  }

  async * speakStream (_text: string, config?: TTSConfig): AsyncIterable<Buffer> {
    config?.signal?.throwIfAborted()
    yield this.#pcm
  }
}

/** The order of a completed turn's messages over the WebSocket (no WebRTC media); `tts-chunk`s come between `tts-start` and `tts-complete`. */
export const TURN_MESSAGES = ['transcript', 'llm-chunk', 'tts-start', 'llm', 'tts-complete'] as const

/**
 * Sends `markedUtterance()` as an `audio` message and waits for the turn to complete (or fail); returns
 * the types of the messages the turn sent (from `transcript` to `tts-complete` or `error`, `metrics` left out).
 */
export async function runHealthyTurn (client: RecordingSocket): Promise<string[]> {
  const from = client.messages.length
  client.send({ type: 'audio', data: markedUtterance().toString('base64') })
  await eventually(() => client.messages.slice(from).some(m => m.type === 'tts-complete' || m.type === 'error'), 'the end of a turn', 30_000)
  return client.messages.slice(from).map(m => String(m.type)).filter(type => type !== 'metrics')
}

/** Whether `types` holds the first occurrence of each of `expected` in that order. */
export function inOrder (types: readonly string[], expected: readonly string[]): boolean {
  const firsts = expected.map(type => types.indexOf(type))
  return firsts.every((index, i) => index >= 0 && (i === 0 || index > (firsts[i - 1] as number)))
}

/** Whether `types` is a whole completed turn: the protocol's order, and audio in `tts-chunk`s. */
export function isCompleteTurn (types: readonly string[]): boolean {
  return inOrder(types, TURN_MESSAGES) && types.includes('tts-chunk') && !types.includes('error')
}
