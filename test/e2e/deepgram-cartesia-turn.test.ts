import t from 'tap'
import { DeepgramSTT } from '../../lib/providers/deepgram/index.js'
import { buildApp } from '../helpers/app.js'
import { listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'
import { CartesiaMock } from '../mocks/cartesia-mock.js'
import { startDeepgramMock } from '../mocks/deepgram-mock.js'
import { trustTestCertificate } from '../mocks/tls.js'

// Real speech over a real WebRTC peer; Deepgram's live STT and Cartesia's TTS WebSocket are loopback mocks
// of their wire protocols (Cartesia's over TLS, with a certificate made for this run). Every packet stays
// on 127.0.0.1. Assertions are on order and content, not durations.
isolateNetwork()
const tls = trustTestCertificate()
if (tls === undefined) t.plan(0, 'openssl is not available to make a test certificate')

t.test('a spoken question is transcribed live by Deepgram and the answer spoken by Cartesia, over WebRTC', async t => {
  const deepgram = await startDeepgramMock({ apiKey: 'dg-e2e', transcript: 'hello there' })
  t.teardown(() => deepgram.close())
  const cartesia = await CartesiaMock.start({ tls: tls as NonNullable<typeof tls>, apiKey: 'car-e2e' })
  t.teardown(() => cartesia.close())
  const stt = new DeepgramSTT({ apiKey: 'dg-e2e', baseUrl: deepgram.url })
  const app = await buildApp(t, { providers: { stt }, cartesia: { apiKey: 'car-e2e', baseURL: cartesia.baseURL } })
  t.same([app.llmrtcProviders.stt.name, app.llmrtcProviders.tts.name], ['deepgram', 'cartesia'])
  const client = await voiceClient(t, await listenUrl(app))
  await say(client, 'Hello there, what can you do?')

  // Interim transcripts stream while the user speaks; the final one follows speech-end.
  const isFinalTranscript = (m: { type: string }): boolean => m.type === 'transcript' && (m as { isFinal?: boolean }).isFinal === true
  const steps = [
    (m: { type: string }) => m.type === 'speech-start', (m: { type: string }) => m.type === 'speech-end', isFinalTranscript,
    (m: { type: string }) => m.type === 'llm-chunk', (m: { type: string }) => m.type === 'tts-start', (m: { type: string }) => m.type === 'llm', (m: { type: string }) => m.type === 'tts-complete'
  ]
  for (const step of steps) await client.waitFor(step, { timeoutMs: 15_000 })
  const firsts = steps.map(step => client.wsMessages.findIndex(step))
  t.same(firsts, [...firsts].sort((a, b) => a - b), `events come in protocol order: ${client.wsMessages.map(m => m.type).filter(x => x !== 'metrics').join(' ')}`)
  t.match(client.wsMessages.find(isFinalTranscript), { text: /^hello there/i }, 'Deepgram\'s final transcript')
  t.ok(client.wsMessages.some(m => m.type === 'transcript' && !isFinalTranscript(m)), 'after interim ones')
  t.ok(deepgram.live.length >= 1 && (deepgram.live[0]?.audioBytes ?? 0) > 0, 'the speech was streamed to Deepgram\'s live endpoint')
  await client.audio.waitForSound(1000, 5000, 0)
  t.pass('Cartesia\'s audio arrived, non-silent, on the client\'s track')

  const answer = (client.wsMessages.find(m => m.type === 'llm') as { text: string }).text
  // The answer's TTS context is the last one; an earlier one can only be the first sentence of a
  // speculative answer synthesized ahead in a pause of the question (the comma), thrown away when the user went on.
  const answerContext = cartesia.contextIds.at(-1)
  const spoken = cartesia.inputs.filter(i => i.transcript !== '' && i.context_id === answerContext).map(i => (i.transcript as string).trim()).join(' ')
  t.equal(spoken, answer.trim().replace(/\s+/g, ' '), 'Cartesia was asked to speak exactly the answer')
  const ahead = [...new Set(cartesia.contextIds)].filter(id => id !== answerContext)
  for (const id of ahead) {
    const text = cartesia.inputs.filter(i => i.transcript !== '' && i.context_id === id).map(i => (i.transcript as string).trim()).join(' ')
    t.ok(answer.trim().startsWith(text), `an earlier context is a speculative first sentence of the answer (${text})`)
  }
  t.ok(cartesia.inputs.every(i => i.add_timestamps === true && i.output_format.sample_rate === 24_000))
  t.equal(cartesia.handshakes.length, 1, 'over one WebSocket')
  const session = app.llmrtcSessions.get(client.sessionId)
  t.same(session?.history.messages.map(m => m.role), ['user', 'assistant'])
})
