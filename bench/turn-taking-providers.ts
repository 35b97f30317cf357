/**
 * Scripted providers for the turn-taking benchmark. They know what the client has sent (the `Script`,
 * filled by the bench as the microphone sends each part, on the same clock: client and server share one
 * process), so a run is deterministic however the server cuts the speech into utterances.
 *
 * STT rule: the WAV the server passes is a stretch of the uplink as the server heard it, starting with
 * the VAD's pre-roll. Its first sample at |s| ≥ 300 is the onset of the first part it holds (the
 * microphone sends digital silence between parts, and parts are ≥ 400 ms apart). That part is the one of
 * the current item whose sent start is nearest to `t − STT_LAG_MS − (wavMs − onsetMs)` (`t` the call
 * time; the estimate only has to pick among parts ≥ 1 s apart, so a late VAD under load does not
 * matter). Anchored there, the WAV covers [part start − onsetMs, part start − onsetMs + wavMs] of the
 * client's clock, and the STT returns the joined text of the item's parts whose sent audio overlaps that
 * window by at least `MIN_OVERLAP_MS` (or wholly, for a shorter part). Of a part the window covers only
 * in part (one still being sent, or cut by the VAD inside a sentence), it returns the words in
 * proportion, as if they were evenly spaced over the part (at least one word): "Wait," of "Wait, stop,
 * I meant Friday not Tuesday." after its first 400 ms. One rule serves the whole utterance at
 * `speech-end`, a partial one during a pause (preemptive transcription), and a backchannel or
 * interruption alone, also while it is still being said. A cough's text is '' (no words); a WAV without
 * sound gives ''. The text is fixed at call time, before the STT delay.
 *
 * LLM: streams the scripted answer to the user's last message, word by word, after `llmMs`. TTS: a
 * continuous tone after `ttsMs` (per call), 330 ms per word, in 100 ms chunks without gaps, so any
 * silence the client hears is the server pausing or stopping. The long answers (during-answer items) are
 * a 440 Hz tone, every other answer 880 Hz: the client tells the two apart by zero crossings.
 */
import { decodeWav } from '../lib/audio/wav.js'
import type { LLMChunk, LLMProvider, LLMRequest, LLMResult, STTConfig, STTProvider, STTResult, TTSConfig, TTSProvider, TTSResult } from '../lib/providers/types.js'
import { FALLBACK_ANSWER, fullText, type Item } from './turn-taking-corpus.js'

export const STT_LAG_MS = 100
export const MIN_OVERLAP_MS = 60
const ONSET_LEVEL = 300
export const TTS_RATE_HZ = 24_000
export const MS_PER_WORD = 330
export const LONG_TONE_HZ = 440
export const SHORT_TONE_HZ = 880
export const TONE_AMPLITUDE = 8000

export interface Delays { sttMs: number, llmMs: number, ttsMs: number }

/** One part as the client's microphone sent it (performance.now() ms; trimmed at |sample| < 300). */
export interface SentPart {
  itemId: string
  index: number
  text: string
  /** First non-silent sample handed to the microphone track. */
  startAt: number
  /** Last non-silent sample so far (final once the part is sent). */
  endAt: number
  /** Length of the part's audio, ms. */
  durationMs: number
}

export interface SttCall {
  itemId: string
  at: number
  wavMs: number
  /** The WAV's span on the client's clock (anchored on its first sound), or undefined for a silent WAV. */
  window?: [number, number]
  /** Anchor estimate from the call time minus the anchored start of the first part (the server's lag beyond STT_LAG_MS). */
  lagErrorMs?: number
  text: string
}
export interface LlmCall { itemId: string, at: number, userText: string, answer: string }
export interface TtsCall { itemId: string, at: number, text: string, long: boolean, audioMs: number }

/** What the bench tells the providers, and what they record. */
export class Script {
  item: Item | undefined
  readonly sent: SentPart[] = []
  readonly sttCalls: SttCall[] = []
  readonly llmCalls: LlmCall[] = []
  readonly ttsCalls: TtsCall[] = []
  readonly #answers = new Map<string, string>()
  readonly #longAnswers: string[] = []

  constructor (items: readonly Item[]) {
    for (const item of items) {
      this.#answers.set(normalize(fullText(item.parts)), item.answer)
      if (item.segmentAfterMs !== undefined) {
        this.#answers.set(normalize(item.parts[0]?.text ?? ''), item.answer)
        this.#longAnswers.push(normalize(item.answer))
      }
    }
  }

  get itemId (): string { return this.item?.id ?? 'warm-up' }

  /** The STT rule (see the file's comment). */
  transcribe (at: number, samples: Int16Array, sampleRateHz: number): Omit<SttCall, 'itemId'> {
    const wavMs = samples.length / sampleRateHz * 1000
    const onset = samples.findIndex(sample => Math.abs(sample) >= ONSET_LEVEL)
    const parts = this.sent.filter(p => p.itemId === this.itemId && p.startAt <= at)
    if (onset < 0 || parts.length === 0) return { at, wavMs, text: '' }
    const onsetMs = onset / sampleRateHz * 1000
    const estimate = at - STT_LAG_MS - (wavMs - onsetMs)
    const anchor = parts.reduce((best, p) => Math.abs(p.startAt - estimate) < Math.abs(best.startAt - estimate) ? p : best)
    const window: [number, number] = [anchor.startAt - onsetMs, anchor.startAt - onsetMs + wavMs]
    const heard = parts
      .filter(p => Math.min(p.endAt, window[1]) - Math.max(p.startAt, window[0]) >= Math.min(MIN_OVERLAP_MS, p.endAt - p.startAt))
      .map(p => ({ text: wordsCovered(p, window) }))
    return { at, wavMs, window, lagErrorMs: estimate - anchor.startAt, text: fullText(heard) }
  }

  answerFor (userText: string): string {
    return this.#answers.get(normalize(userText)) ?? FALLBACK_ANSWER
  }

  isLongAnswer (text: string): boolean {
    const t = normalize(text)
    return t !== '' && this.#longAnswers.some(answer => answer.includes(t))
  }
}

/** The words of `part` that `window` covers, taking them as evenly spaced over the part's audio (at least one). */
function wordsCovered (part: SentPart, window: [number, number]): string {
  const list = part.text.split(/\s+/).filter(w => w !== '')
  const fraction = (at: number): number => Math.min(1, Math.max(0, (at - part.startAt) / part.durationMs))
  const from = Math.min(list.length - 1, Math.round(fraction(window[0]) * list.length))
  const to = Math.max(from + 1, Math.round(fraction(Math.min(part.endAt, window[1])) * list.length))
  return list.slice(from, to).join(' ')
}

export function normalize (text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}'\s]/gu, ' ').replace(/\s+/g, ' ').trim()
}

export function words (text: string): number {
  return normalize(text).split(' ').filter(w => w !== '').length
}

/** Audio length the TTS gives `text`, in ms. */
export function speechMs (text: string): number {
  return words(text) * MS_PER_WORD
}

/** Waits `ms` (nothing for 0); throws the signal's reason if it aborts (the server ends quietly). */
async function delay (ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted()
  if (ms <= 0) return
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { clearTimeout(timer); reject(signal?.reason) }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function tone (ms: number, hz: number): Int16Array {
  const out = new Int16Array(Math.round(TTS_RATE_HZ * ms / 1000))
  for (let i = 0; i < out.length; i++) out[i] = Math.round(TONE_AMPLITUDE * Math.sin(2 * Math.PI * hz * i / TTS_RATE_HZ))
  return out
}

export function scriptedProviders (script: Script, delays: Delays): { stt: STTProvider, llm: LLMProvider, tts: TTSProvider } {
  const stt: STTProvider = {
    name: 'bench-scripted-stt',
    async transcribe (audio: Buffer, config?: STTConfig): Promise<STTResult> {
      const at = performance.now()
      const wav = decodeWav(audio)
      const call = script.transcribe(at, wav.channels === 1 ? wav.samples : wav.samples.filter((_s, i) => i % wav.channels === 0), wav.sampleRateHz)
      script.sttCalls.push({ itemId: script.itemId, ...call })
      await delay(delays.sttMs, config?.signal)
      return { text: call.text, isFinal: true }
    }
  }
  const answerOf = (request: LLMRequest): string => {
    const user = [...request.messages].reverse().find(m => m.role === 'user')?.content ?? ''
    const answer = script.answerFor(user)
    script.llmCalls.push({ itemId: script.itemId, at: performance.now(), userText: user, answer })
    return answer
  }
  const llm: LLMProvider = {
    name: 'bench-scripted-llm',
    async complete (request: LLMRequest): Promise<LLMResult> {
      const answer = answerOf(request)
      await delay(delays.llmMs, request.signal)
      return { fullText: answer }
    },
    async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
      const answer = answerOf(request)
      await delay(delays.llmMs, request.signal)
      const pieces = answer.split(/(?<=\s)/)
      for (const piece of pieces) {
        if (request.signal?.aborted === true) return
        yield { content: piece, done: false }
      }
      yield { content: '', done: true }
    }
  }
  const synthesize = (text: string): { pcm: Int16Array, long: boolean } => {
    const long = script.isLongAnswer(text)
    const ms = speechMs(text)
    script.ttsCalls.push({ itemId: script.itemId, at: performance.now(), text, long, audioMs: ms })
    return { pcm: tone(ms, long ? LONG_TONE_HZ : SHORT_TONE_HZ), long }
  }
  const tts: TTSProvider = {
    name: 'bench-scripted-tts',
    pcmSampleRate: TTS_RATE_HZ,
    async speak (text: string, config?: TTSConfig): Promise<TTSResult> {
      const { pcm } = synthesize(text)
      await delay(delays.ttsMs, config?.signal)
      return { audio: Buffer.from(pcm.buffer), format: 'pcm', sampleRate: TTS_RATE_HZ }
    },
    async * speakStream (text: string, config?: TTSConfig): AsyncIterable<Buffer> {
      const { pcm } = synthesize(text)
      await delay(delays.ttsMs, config?.signal)
      const chunk = TTS_RATE_HZ / 10
      for (let offset = 0; offset < pcm.length; offset += chunk) {
        if (config?.signal?.aborted === true) return
        const piece = pcm.subarray(offset, offset + chunk)
        yield Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
      }
    }
  }
  return { stt, llm, tts }
}

/**
 * Which tone a received 48 kHz frame carries: zero crossings per sample over its loud span
 * (440 Hz ≈ 0.018, 880 Hz ≈ 0.037). 'none' for a quiet frame (peak < `minPeak`).
 */
export function toneOf (samples: Int16Array, minPeak: number): 'long' | 'short' | 'none' {
  let first = -1
  let last = -1
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i] as number) >= minPeak) {
      if (first < 0) first = i
      last = i
    }
  }
  if (first < 0 || last - first < 48) return 'none'
  let crossings = 0
  for (let i = first + 1; i <= last; i++) {
    const a = samples[i - 1] as number
    const b = samples[i] as number
    if ((a < 0 && b >= 0) || (a >= 0 && b < 0)) crossings++
  }
  return crossings / (last - first) < 0.0275 ? 'long' : 'short'
}
