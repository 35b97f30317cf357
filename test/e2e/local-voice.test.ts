import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// The no-key local stack end to end: espeak-ng speech over a real WebRTC peer, recognized by
// pocketsphinx (the built-in assistant's grammar), answered by the built-in assistant, spoken back by
// espeak-ng on the track. Every packet stays on 127.0.0.1 (see the helper). Assertions are on order and
// content, not durations. Needs Debian's espeak-ng, sox, pocketsphinx and pocketsphinx-en-us.
isolateNetwork()

t.test('a phrase spoken over WebRTC is recognized by pocketsphinx, answered, and spoken back by espeak-ng', async t => {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  const app = await buildApp(t, { env })
  t.same([app.llmrtcProviders.stt.name, app.llmrtcProviders.llm.name, app.llmrtcProviders.tts.name], ['pocketsphinx-stt', 'builtin-assistant', 'espeak-tts'])
  const client = await voiceClient(t, await listenUrl(app))
  await say(client, 'Repeat after me, the cat sat on the mat.')

  // A one-sentence answer is spoken once it is complete: `llm` may come before `tts-start`.
  const order = ['speech-start', 'speech-end', 'transcript', 'llm-chunk', 'tts-start', 'tts-complete'] as const
  for (const type of order) await client.waitFor(type, { timeoutMs: 15_000 })
  const types = client.wsMessages.map(m => m.type)
  const firsts = order.map(type => types.indexOf(type))
  t.same(firsts, [...firsts].sort((a, b) => a - b), `events come in protocol order: ${types.filter(x => x !== 'metrics').join(' ')}`)
  t.ok(types.indexOf('llm') > types.indexOf('llm-chunk') && types.indexOf('llm') < types.indexOf('tts-complete'), 'llm comes after the chunks, before tts-complete')
  t.match(client.wsMessages.find(m => m.type === 'transcript'), { isFinal: true, text: 'repeat after me the cat sat on the mat' }, 'pocketsphinx heard the phrase')
  t.match(client.wsMessages.find(m => m.type === 'llm'), { text: 'the cat sat on the mat.' }, 'the built-in assistant repeated it')
  t.ok(client.wsMessages.filter(m => m.type === 'llm-chunk').length > 3, 'word by word')
  // tts-complete follows the playout, so the answer's audio has usually arrived by now.
  if (!client.audio.peaks.some(peak => peak >= 1000)) await client.audio.waitForSound(1000, 5000)
  t.pass('espeak-ng\'s speech arrived, non-silent, on the client\'s track')
  const session = app.llmrtcSessions.get(client.sessionId)
  t.same(session?.history.messages.map(m => [m.role, m.content]), [['user', 'repeat after me the cat sat on the mat'], ['assistant', 'the cat sat on the mat.']])
})
