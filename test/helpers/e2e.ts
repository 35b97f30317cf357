import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { concat, silence, synthesizeSpeech } from './speech.js'
import { WebRTCTestClient } from './webrtc-client.js'

/** Makes the app listen on 127.0.0.1 (port 0) and returns its signaling URL. */
export async function listenUrl (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return `ws://127.0.0.1:${address.port}${app.llmrtcConfig.path}`
}

/** A connected WebRTC client with its microphone added, closed at teardown. */
export async function voiceClient (t: Test, url: string): Promise<WebRTCTestClient> {
  const client = await WebRTCTestClient.connect(url, { timeoutMs: 15_000 })
  t.teardown(() => client.close())
  await client.addMicrophone()
  return client
}

/** Speaks `phrase` (espeak-ng) on the microphone in real time, then `pauseMs` of silence (end of speech). */
export async function say (client: WebRTCTestClient, phrase: string, pauseMs = 1200): Promise<void> {
  const speech = await synthesizeSpeech(phrase, 48_000)
  await client.speak(concat(speech, silence(pauseMs, 48_000)))
}

const TURN_ORDER = ['speech-start', 'speech-end', 'transcript', 'llm-chunk', 'tts-start', 'llm', 'tts-complete'] as const

/** Waits for a whole voice turn and asserts its events came in protocol order. */
export async function expectVoiceTurn (t: Test, client: WebRTCTestClient): Promise<void> {
  for (const type of TURN_ORDER) await client.waitFor(type, { timeoutMs: 15_000 })
  const types = client.wsMessages.map(m => m.type)
  const firsts = TURN_ORDER.map(type => types.indexOf(type))
  t.same(firsts, [...firsts].sort((a, b) => a - b), `events come in protocol order: ${types.filter(x => x !== 'metrics' && x !== 'llm-chunk').join(' ')}`)
}

/**
 * Runs a scenario whose assertions need the client's speech to reach the server as it was spoken. When
 * this process's event loop blocked the client's microphone for over 50 ms (`micGaps` grew: a loaded
 * machine, a GC pause), the server heard a gap the test did not put there, and the run proves nothing
 * about continuous speech: it is run again, with a fresh client, up to `attempts` times. A scenario may
 * also report `heardGap` when the server's own events show it heard the speech broken (late packets that
 * the server's jitter buffer concealed with silence, on a loaded machine). The last attempt's outcome is
 * returned whatever happened, so a real failure still fails.
 */
export async function withUnbrokenSpeech<T> (t: Test, scenario: () => Promise<{ client: WebRTCTestClient, outcome: T, heardGap?: boolean }>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { client, outcome, heardGap = false } = await scenario()
    if ((client.micGaps === 0 && !heardGap) || attempt >= attempts) return outcome
    t.comment(`attempt ${attempt}: ${heardGap ? 'the server heard a gap in the speech' : `the microphone fell behind ${client.micGaps} time(s), so the server heard gaps in the speech`}; running it again`)
    client.close()
  }
}
