import type { Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../../lib/providers/types.js'

/**
 * The shared conformance suite: every provider (built-in, local and cloud-against-a-mock) runs it.
 * `speech` is 16 kHz mono PCM the STT is expected to transcribe to something (may be empty text for
 * providers that cannot recognise it, but must be a final result).
 */

export async function llmConformance (t: Test, provider: LLMProvider): Promise<void> {
  t.type(provider.name, 'string', 'has a name')
  await provider.init?.()
  const request = { messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Hello there' }] }
  const result = await provider.complete(request)
  t.type(result.fullText, 'string', 'complete() gives fullText')
  t.ok(result.fullText.length > 0, 'complete() answers something')
  if (provider.stream !== undefined) {
    const chunks = []
    for await (const chunk of provider.stream(request)) chunks.push(chunk)
    t.ok(chunks.length >= 2, 'stream() yields several chunks')
    t.ok(chunks.every(c => typeof c.content === 'string'), 'every chunk has string content')
    t.equal(chunks.at(-1)?.done, true, 'the last chunk is done')
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
      t.equal((err as Error).name, 'AbortError', 'an aborted stream ends or throws AbortError')
    }
    t.ok(received.length <= 2, 'an aborted stream stops promptly')
  }
  const aborted = AbortSignal.abort()
  await t.rejects(provider.complete({ ...request, signal: aborted }), 'complete() with an aborted signal rejects')
}

export async function sttConformance (t: Test, provider: STTProvider, speech: Int16Array, expected?: RegExp): Promise<void> {
  t.type(provider.name, 'string', 'has a name')
  await provider.init?.()
  const wav = encodeWav(speech, 16000)
  const result = await provider.transcribe(wav)
  t.type(result.text, 'string', 'transcribe() gives text')
  t.equal(result.isFinal, true, 'transcribe() is final')
  if (expected !== undefined) t.match(result.text, expected, 'transcribe() recognises the speech')
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
    t.equal(results.at(-1)?.isFinal, true, 'the last streamed result is final')
    if (expected !== undefined) t.match(results.filter(r => r.isFinal).map(r => r.text).join(' '), expected, 'streamed transcript recognises the speech')
  }
  await t.rejects(provider.transcribe(wav, { signal: AbortSignal.abort() }), 'transcribe() with an aborted signal rejects')
}

export async function ttsConformance (t: Test, provider: TTSProvider): Promise<void> {
  t.type(provider.name, 'string', 'has a name')
  await provider.init?.()
  const text = 'Hello there. This is a test.'
  const result = await provider.speak(text)
  t.ok(Buffer.isBuffer(result.audio) && result.audio.length > 0, 'speak() gives audio')
  t.type(result.format, 'string', 'speak() names its format')
  if (provider.speakStream !== undefined) {
    t.type(provider.pcmSampleRate, 'number', 'a streaming TTS declares pcmSampleRate')
    const parts: Buffer[] = []
    for await (const item of provider.speakStream(text)) {
      if (Buffer.isBuffer(item)) parts.push(item)
      else if (item.type === 'audio') parts.push(item.audio)
    }
    const pcm = Buffer.concat(parts)
    t.ok(pcm.length > 0 && pcm.length % 2 === 0, 'speakStream() yields whole s16le samples')
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2)
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
  await t.rejects(provider.speak(text, { signal: AbortSignal.abort() }), 'speak() with an aborted signal rejects')
}
