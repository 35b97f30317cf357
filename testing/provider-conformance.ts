import { encodeWav } from '../lib/audio/wav.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../lib/providers/types.js'

/**
 * What the conformance suites report each check to: anything with `ok(value, message)`, such as a tap or
 * node:test `t`, or `assert` from node:assert (which throws at the first failed check).
 */
export interface ConformanceAssert {
  ok: (value: unknown, message: string) => unknown
}

/*
 * The shared conformance suites: every provider (built-in, local and cloud-against-a-mock) runs them, and
 * so can yours. `speech` is 16 kHz mono PCM the STT is expected to transcribe to something (may be empty
 * text for providers that cannot recognise it, but must be a final result).
 */

function is (t: ConformanceAssert, actual: unknown, expected: unknown, message: string): void {
  t.ok(actual === expected, actual === expected ? message : `${message} (expected ${String(expected)}, instead got ${String(actual)})`)
}

async function rejects (t: ConformanceAssert, promise: Promise<unknown>, message: string): Promise<void> {
  let rejected = false
  try {
    await promise
  } catch {
    rejected = true
  }
  t.ok(rejected, message)
}

/** Checks an LLM provider: complete(), stream() (several chunks, one last `done`), and cancellation. */
export async function llmConformance (t: ConformanceAssert, provider: LLMProvider): Promise<void> {
  is(t, typeof provider.name, 'string', 'has a name')
  await provider.init?.()
  const request = { messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Hello there' }] }
  const result = await provider.complete(request)
  is(t, typeof result.fullText, 'string', 'complete() gives fullText')
  t.ok(result.fullText.length > 0, 'complete() answers something')
  if (provider.stream !== undefined) {
    const chunks = []
    for await (const chunk of provider.stream(request)) chunks.push(chunk)
    t.ok(chunks.length >= 2, 'stream() yields several chunks')
    t.ok(chunks.every(c => typeof c.content === 'string'), 'every chunk has string content')
    is(t, chunks.at(-1)?.done, true, 'the last chunk is done')
    t.ok(chunks.slice(0, -1).every(c => !c.done), 'only the last chunk is done')
    t.ok(chunks.map(c => c.content).join('').length > 0, 'streamed text is not empty')

    const controller = new AbortController()
    const received = []
    try {
      for await (const chunk of provider.stream({ ...request, signal: controller.signal })) {
        received.push(chunk)
        controller.abort()
      }
    } catch (err) {
      is(t, (err as Error).name, 'AbortError', 'an aborted stream ends or throws AbortError')
    }
    t.ok(received.length <= 2, 'an aborted stream stops promptly')
  }
  await rejects(t, provider.complete({ ...request, signal: AbortSignal.abort() }), 'complete() with an aborted signal rejects')
}

/** Checks an STT provider: transcribe() (final text, matching `expected` if given), transcribeStream(), cancellation. */
export async function sttConformance (t: ConformanceAssert, provider: STTProvider, speech: Int16Array, expected?: RegExp): Promise<void> {
  is(t, typeof provider.name, 'string', 'has a name')
  await provider.init?.()
  const wav = encodeWav(speech, 16000)
  const result = await provider.transcribe(wav)
  is(t, typeof result.text, 'string', 'transcribe() gives text')
  is(t, result.isFinal, true, 'transcribe() is final')
  if (expected !== undefined) t.ok(expected.test(result.text), `transcribe() recognises the speech (${String(expected)})`)
  if (provider.transcribeStream !== undefined) {
    const rate = provider.streamingInputSampleRate ?? 16000
    async function * chunks (): AsyncIterable<Buffer> {
      const bytes = Buffer.from(speech.buffer, speech.byteOffset, speech.byteLength)
      const step = (rate / 50) * 2
      for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step)
    }
    const results = []
    for await (const r of provider.transcribeStream(chunks(), { sampleRateHz: 16000 })) results.push(r)
    t.ok(results.length >= 1, 'transcribeStream() yields results')
    is(t, results.at(-1)?.isFinal, true, 'the last streamed result is final')
    if (expected !== undefined) t.ok(expected.test(results.filter(r => r.isFinal).map(r => r.text).join(' ')), `streamed transcript recognises the speech (${String(expected)})`)
  }
  await rejects(t, provider.transcribe(wav, { signal: AbortSignal.abort() }), 'transcribe() with an aborted signal rejects')
}

/** Checks a TTS provider: speak(), speakStream() (whole s16le samples, not silent), cancellation. */
export async function ttsConformance (t: ConformanceAssert, provider: TTSProvider): Promise<void> {
  is(t, typeof provider.name, 'string', 'has a name')
  await provider.init?.()
  const text = 'Hello there. This is a test.'
  const result = await provider.speak(text)
  t.ok(Buffer.isBuffer(result.audio) && result.audio.length > 0, 'speak() gives audio')
  is(t, typeof result.format, 'string', 'speak() names its format')
  if (provider.speakStream !== undefined) {
    is(t, typeof provider.pcmSampleRate, 'number', 'a streaming TTS declares pcmSampleRate')
    const parts: Buffer[] = []
    for await (const item of provider.speakStream(text)) {
      if (Buffer.isBuffer(item)) parts.push(item)
      else if (item.type === 'audio') parts.push(item.audio)
    }
    const pcm = Buffer.concat(parts)
    t.ok(pcm.length > 0 && pcm.length % 2 === 0, 'speakStream() yields whole s16le samples')
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2))
    let peak = 0
    for (const s of samples) peak = Math.max(peak, Math.abs(s))
    t.ok(peak > 1000, 'streamed audio is not silent')
    const controller = new AbortController()
    let after = 0
    for await (const _item of provider.speakStream(text, { signal: controller.signal })) {
      if (controller.signal.aborted) after++
      controller.abort()
    }
    t.ok(after <= 1, 'an aborted stream stops promptly')
  }
  await rejects(t, provider.speak(text, { signal: AbortSignal.abort() }), 'speak() with an aborted signal rejects')
}
