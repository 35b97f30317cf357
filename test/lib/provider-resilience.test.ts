import t from 'tap'
import { failoverLLM, failoverSTT, failoverTTS, type FailoverEvent } from '../../lib/providers/failover.js'
import { isRetryableError, retry, retryBeforeOutput } from '../../lib/providers/retry.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../../lib/providers/types.js'

function httpError (status: number): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status })
}

t.test('connection errors, 408, 429 and 5xx are retryable; auth and bad requests are not', async t => {
  for (const status of [408, 429, 500, 502, 503]) t.ok(isRetryableError(httpError(status)), `${status}`)
  for (const status of [400, 401, 403, 404, 422]) t.notOk(isRetryableError(httpError(status)), `${status}`)
  t.ok(isRetryableError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })))
  t.ok(isRetryableError(new Error('wrapped', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) })))
  t.ok(isRetryableError(Object.assign(new Error('x'), { name: 'APIConnectionError' })))
  t.notOk(isRetryableError(new Error('malformed JSON')))
  t.notOk(isRetryableError(null))
  const { LLMRTC_ERR_STT } = await import('../../lib/errors.js')
  t.notOk(isRetryableError(new LLMRTC_ERR_STT('p', '401', { cause: httpError(401) })), 'our wrapper (statusCode 502) is judged by its cause')
  t.ok(isRetryableError(new LLMRTC_ERR_STT('p', '503', { cause: httpError(503) })))
})

t.test('a retryable failure is retried with backoff, a final one is not', async t => {
  let calls = 0
  t.equal(await retry(async () => { if (++calls < 3) throw httpError(429); return 'ok' }, { baseDelayMs: 1 }), 'ok')
  t.equal(calls, 3)
  calls = 0
  await t.rejects(retry(async () => { calls++; throw httpError(401) }, { baseDelayMs: 1 }), { message: 'HTTP 401' })
  t.equal(calls, 1)
  calls = 0
  await t.rejects(retry(async () => { calls++; throw httpError(503) }, { retries: 1, baseDelayMs: 1 }), { message: 'HTTP 503' })
  t.equal(calls, 2, 'gives up after the retries')
})

t.test('a stream is retried only before its first output', async t => {
  let calls = 0
  const out: number[] = []
  for await (const n of retryBeforeOutput(async function * () { if (++calls === 1) throw httpError(500); yield 1; yield 2 }, { baseDelayMs: 1 })) out.push(n)
  t.same(out, [1, 2])
  calls = 0
  const partial: number[] = []
  await t.rejects((async () => {
    for await (const n of retryBeforeOutput(async function * () { calls++; yield 1; throw httpError(500) }, { baseDelayMs: 1 })) partial.push(n)
  })(), { message: 'HTTP 500' })
  t.equal(calls, 1, 'no retry once output was emitted')
  t.same(partial, [1])
})

t.test('an LLM list fails over to the next provider before any output, and says so', async t => {
  const events: FailoverEvent[] = []
  const broken: LLMProvider = { name: 'primary', complete: async () => { throw httpError(401) }, async * stream () { throw httpError(401) } }
  const backup: LLMProvider = { name: 'backup', complete: async () => ({ fullText: 'from backup' }) }
  const llm = failoverLLM([broken, backup], (e) => { events.push(e) })
  t.equal(llm.name, 'primary>backup')
  t.same(await llm.complete({ messages: [] }), { fullText: 'from backup' })
  const chunks = []
  for await (const chunk of llm.stream?.({ messages: [] }) ?? []) chunks.push(chunk.content)
  t.same(chunks, ['from backup'], 'a provider without stream() is used through complete()')
  t.same(events.map(e => `${e.role}:${e.from}>${e.to}:${e.error.message}`), ['llm:primary>backup:HTTP 401', 'llm:primary>backup:HTTP 401'])
})

t.test('a failure after output is final and an aborted call never fails over', async t => {
  const events: FailoverEvent[] = []
  const flaky: LLMProvider = { name: 'flaky', complete: async () => ({ fullText: '' }), async * stream () { yield { content: 'partial', done: false }; throw httpError(500) } }
  const backup: LLMProvider = { name: 'backup', complete: async () => ({ fullText: 'x' }) }
  const llm = failoverLLM([flaky, backup], (e) => { events.push(e) })
  await t.rejects((async () => { for await (const _ of llm.stream?.({ messages: [] }) ?? []) {} })(), { message: 'HTTP 500' }) // eslint-disable-line no-empty
  const controller = new AbortController()
  controller.abort()
  const aborting: LLMProvider = { name: 'a', complete: async () => { throw new Error('aborted') } }
  await t.rejects(failoverLLM([aborting, backup], (e) => { events.push(e) }).complete({ messages: [], signal: controller.signal }), { message: 'aborted' })
  t.same(events, [])
})

t.test('STT and TTS lists fail over too; streams need a common rate', async t => {
  const events: string[] = []
  const onFailover = (e: FailoverEvent): void => { events.push(`${e.role}:${e.from}>${e.to}`) }
  const sttDown: STTProvider = { name: 's1', transcribe: async () => { throw httpError(503) }, async * transcribeStream () { yield { text: 'live', isFinal: true } }, streamingInputSampleRate: 16000 }
  const sttUp: STTProvider = { name: 's2', transcribe: async () => ({ text: 'hello', isFinal: true }) }
  const stt = failoverSTT([sttDown, sttUp], onFailover)
  t.same(await stt.transcribe(Buffer.alloc(0)), { text: 'hello', isFinal: true })
  const live = []
  for await (const r of stt.transcribeStream?.((async function * () {})()) ?? []) live.push(r.text)
  t.same(live, ['live'], 'streaming uses the primary')
  t.equal(stt.streamingInputSampleRate, 16000)

  const ttsDown: TTSProvider = { name: 't1', pcmSampleRate: 24000, speak: async () => { throw httpError(500) }, async * speakStream () { throw httpError(500) } }
  const ttsUp: TTSProvider = { name: 't2', pcmSampleRate: 24000, speak: async () => ({ audio: Buffer.from([1, 2]), format: 'pcm' }), async * speakStream () { yield Buffer.from([1, 2]) } }
  const tts = failoverTTS([ttsDown, ttsUp], onFailover)
  t.same((await tts.speak('x')).audio, Buffer.from([1, 2]))
  const audio = []
  for await (const chunk of tts.speakStream?.('x') ?? []) audio.push(chunk)
  t.equal(audio.length, 1)
  t.equal(tts.pcmSampleRate, 24000)
  t.equal(failoverTTS([ttsUp, { ...ttsUp, name: 't3', pcmSampleRate: 16000 }], onFailover).speakStream, undefined, 'mixed rates: no streaming')
  t.same(events, ['stt:s1>s2', 'tts:t1>t2', 'tts:t1>t2'])
})

t.test('provider error text is scrubbed of anything that looks like a key', async t => {
  const { scrubSecrets } = await import('../../lib/providers/scrub-secrets.js')
  t.equal(scrubSecrets('401 Incorrect API key provided: sk-abcd1234********wxyz. You can find your key'), '401 Incorrect API key provided: [redacted]. You can find your key')
  t.equal(scrubSecrets('Authorization: Token 0123456789abcdef'), 'Authorization: Token [redacted]')
  t.equal(scrubSecrets('bad token=abc.def'), 'bad token=[redacted]')
  t.equal(scrubSecrets('opaque 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a here'), 'opaque [redacted] here')
  t.equal(scrubSecrets('connection refused'), 'connection refused')
  const { classifyProviderError, callSignal } = await import('../../lib/pipeline/provider-call.js')
  const turn = new AbortController().signal
  const leaked = Object.assign(new Error('Incorrect API key provided: sk-proj-abc123***wxyz'), { status: 401 })
  const classified = classifyProviderError('llm', 'openai-llm', leaked, callSignal(turn, 1000), turn, 1000)
  t.equal(classified?.message, 'LLM provider "openai-llm" failed: 401 Incorrect API key provided: [redacted]')
  t.notMatch(String((classified?.cause as Error).message), /sk-proj/, 'the cause is scrubbed too (it is logged)')
})
