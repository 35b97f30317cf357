import t, { type Test } from 'tap'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import { ToneTTS } from '../../lib/providers/builtin/tone-tts.js'
import { ScriptedSTT } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { isolateNetwork, type WebRTCTestClient } from '../helpers/webrtc-client.js'
import { MOCK_REPLY, startAnthropicMock } from '../mocks/anthropic-mock.js'
import { ElevenLabsMock } from '../mocks/elevenlabs-mock.js'
import { startScribeMock } from '../mocks/elevenlabs-scribe-mock.js'
import { GEMINI_MOCK_REPLY, startGeminiMock } from '../mocks/gemini-mock.js'

// Real speech over a real WebRTC peer, each cloud provider's real SDK (or WebSocket protocol) against a
// loopback mock of its wire protocol, chosen through the umbrella's provider options. Every packet stays
// on 127.0.0.1. Assertions are on order and content, not durations.
isolateNetwork()

const isFinalTranscript = (m: ServerMessage): boolean => m.type === 'transcript' && (m as { isFinal?: boolean }).isFinal === true
const TURN_STEPS: Array<(m: ServerMessage) => boolean> = [
  m => m.type === 'speech-start', m => m.type === 'speech-end', isFinalTranscript,
  m => m.type === 'llm-chunk', m => m.type === 'tts-start', m => m.type === 'llm', m => m.type === 'tts-complete'
]

/** Waits for a whole turn and asserts its events came in protocol order; returns the answer's text. */
async function expectTurn (t: Test, client: WebRTCTestClient): Promise<string> {
  for (const step of TURN_STEPS) await client.waitFor(step, { timeoutMs: 20_000 }).catch((err: Error) => { throw new Error(`${err.message}; got ${JSON.stringify(client.wsMessages.filter(m => m.type !== 'metrics' && m.type !== 'llm-chunk'))}`) })
  const firsts = TURN_STEPS.map(step => client.wsMessages.findIndex(step))
  t.same(firsts, [...firsts].sort((a, b) => a - b), `events come in protocol order: ${client.wsMessages.map(m => m.type).filter(x => x !== 'metrics').join(' ')}`)
  await client.audio.waitForSound(1000, 5000, 0)
  t.pass('the answer\'s audio arrived, non-silent, on the client\'s track')
  return (client.wsMessages.find(m => m.type === 'llm') as { text: string }).text
}

t.test('one turn through Anthropic (LLM) and ElevenLabs (TTS, input-streaming WebSocket) over WebRTC', async t => {
  const anthropic = await startAnthropicMock({ apiKey: 'ant-e2e' })
  t.teardown(() => anthropic.close())
  const elevenlabs = await ElevenLabsMock.start({ apiKey: 'xi-e2e' })
  t.teardown(() => elevenlabs.close())
  const app = await buildApp(t, {
    // ElevenLabs' key would also choose Scribe for STT; this turn is about its TTS. One transcript per
    // call: a pause in the question (the comma) may start a speculative transcription before the final one.
    providers: { stt: new ScriptedSTT(Array<string>(4).fill('hello there what can you do')) },
    anthropic: { apiKey: 'ant-e2e', baseURL: anthropic.baseURL },
    elevenlabs: { apiKey: 'xi-e2e', baseURL: elevenlabs.baseURL, tts: { voiceId: 'voice-e2e' } }
  })
  t.same([app.llmrtcProviders.llm.name, app.llmrtcProviders.tts.name], ['anthropic-llm', 'elevenlabs'])
  const client = await voiceClient(t, await listenUrl(app))
  await say(client, 'Hello there, what can you do?')
  const answer = await expectTurn(t, client)
  t.equal(answer.trim(), MOCK_REPLY, 'Claude\'s streamed answer')
  const request = anthropic.requests.at(-1)
  t.ok(request !== undefined && request.body.stream === true, 'a streamed Messages request')
  const messages = (request?.body.messages ?? []) as Array<{ role: string }>
  t.equal(messages.at(-1)?.role, 'user', 'the user\'s words are the last message')
  // ElevenLabs: one context per turn; the answer's context is the last one opened.
  t.ok(elevenlabs.handshakes.length >= 1 && elevenlabs.handshakes.every(h => h.path.includes('/voice-e2e/multi-stream-input')))
  const contexts = [...new Set(elevenlabs.inputs.map(i => i.context_id as string))]
  const answerContext = contexts.at(-1)
  const spoken = elevenlabs.inputs.filter(i => i.context_id === answerContext && typeof i.text === 'string').map(i => (i.text as string).trim()).filter(x => x !== '').join(' ')
  t.equal(spoken, answer.trim().replace(/\s+/g, ' '), 'ElevenLabs was asked to speak exactly the answer, in one context')
  const session = app.llmrtcSessions.get(client.sessionId)
  t.same(session?.history.messages.map(m => m.role), ['user', 'assistant'])
  t.equal(session?.history.messages[1]?.content.trim(), MOCK_REPLY, 'the whole answer was heard (word timestamps from the alignment)')
})

t.test('one turn through Gemini (LLM) and ElevenLabs Scribe realtime (STT) over WebRTC', async t => {
  const gemini = await startGeminiMock({ apiKey: 'gem-e2e' })
  t.teardown(() => gemini.close())
  const scribe = await startScribeMock({ apiKey: 'xi-e2e', transcript: 'hello there what can you do' })
  t.teardown(() => scribe.close())
  const app = await buildApp(t, {
    // ElevenLabs' key would also choose its TTS; this turn is about Scribe, so the built-in tone speaks.
    providers: { tts: new ToneTTS() },
    gemini: { apiKey: 'gem-e2e', baseUrl: gemini.baseUrl },
    elevenlabs: { apiKey: 'xi-e2e', baseURL: scribe.url }
  })
  t.same([app.llmrtcProviders.stt.name, app.llmrtcProviders.llm.name], ['elevenlabs', 'gemini-llm'])
  const client = await voiceClient(t, await listenUrl(app))
  await say(client, 'Hello there, what can you do?')
  const answer = await expectTurn(t, client)
  t.equal(answer.trim(), GEMINI_MOCK_REPLY, 'Gemini\'s streamed answer')
  t.match(client.wsMessages.find(isFinalTranscript), { text: /^hello there/i }, 'Scribe\'s committed transcript')
  t.ok(client.wsMessages.some(m => m.type === 'transcript' && !isFinalTranscript(m)), 'after partial ones')
  const live = scribe.realtime.at(-1)
  t.ok(live !== undefined && live.audioBytes > 0, 'the speech was streamed to Scribe\'s realtime socket')
  t.equal(live?.query.get('commit_strategy'), 'manual', 'llmrtc\'s VAD ends the turn: manual commits')
  const request = gemini.requests.at(-1)
  t.equal(request?.method, 'streamGenerateContent')
  t.match(JSON.stringify(request?.body.contents), /hello there/i, 'Gemini got the user\'s words')
  const session = app.llmrtcSessions.get(client.sessionId)
  t.same(session?.history.messages.map(m => m.role), ['user', 'assistant'])
})
