import t from 'tap'
import { buildApp } from '../helpers/app.js'

t.test('backgroundAudio is checked at start: unknown keys, bad values and unreadable sound files fail ready()', async t => {
  await t.rejects(buildApp(t, { webrtc: false, backgroundAudio: { music: true } as never }), { code: 'LLMRTC_ERR_OPTIONS_UNKNOWN', message: /backgroundAudio\.music/ })
  await t.rejects(buildApp(t, { webrtc: false, backgroundAudio: { thinking: { volume: 3 } } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"backgroundAudio.thinking.volume": expected a number from 0 to 1/ })
  await t.rejects(buildApp(t, { webrtc: false, backgroundAudio: { ambient: { sound: '/no/such/sound.wav' } } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"backgroundAudio.ambient.sound": expected a readable audio file/ })
})

t.test('with the generated sounds the app starts, and text turns (no track to mix into) answer as without them', async t => {
  const app = await buildApp(t, { webrtc: false, backgroundAudio: { thinking: true, ambient: true } })
  const session = app.llmrtcSessions.create()
  const turn = await app.llmrtcPipeline.textTurn(session, 'hello')
  t.equal(turn.result?.outcome, 'completed')
  t.same(session.history.messages.map(m => m.role), ['user', 'assistant'])
})
