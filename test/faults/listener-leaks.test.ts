import { getEventListeners } from 'node:events'
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { connectOverNetwork } from '../helpers/ws-client.js'
import { InstantLLM, InstantTTS, MarkedSTT, isCompleteTurn, markedUtterance, runHealthyTurn } from './reliability-helpers.js'

/*
 * A listener added per turn to something that lives longer (the session's signal, the process) is a
 * leak: Node says so with a MaxListenersExceededWarning once one target has eleven. Many turns, completed
 * and interrupted, leave the same listeners as one, and no such warning.
 */
t.test('turns, completed and interrupted, leave no listener behind on the session or the process', async t => {
  const warnings: string[] = []
  const onWarning = (warning: Error): void => { if (warning.name === 'MaxListenersExceededWarning') warnings.push(warning.message) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const app = await buildApp(t, { webrtc: false, demoPage: false, maxMessagesPerSecond: 0, providers: { stt: new MarkedSTT(), llm: new InstantLLM(), tts: new InstantTTS() } })
  const client = await connectOverNetwork(app)
  t.teardown(() => { client.ws.terminate() })
  const session = app.llmrtcSessions.get(String((await client.next('ready')).id))
  if (session === undefined) throw new Error('no session')
  const counts = (): number[] => [getEventListeners(session.signal, 'abort').length, process.listenerCount('exit'), process.listenerCount('warning')]

  t.ok(isCompleteTurn(await runHealthyTurn(client)), 'a first turn')
  const afterOne = counts()
  for (let i = 0; i < 15; i++) {
    // One utterance interrupted by the next, then a turn that completes.
    client.send({ type: 'audio', data: markedUtterance().toString('base64') })
    t.ok(isCompleteTurn(await runHealthyTurn(client)), `round ${i + 1}`)
  }
  t.same(counts(), afterOne, 'as many listeners as after the first turn: session signal, process exit and warning')
  t.same(warnings, [], 'no MaxListenersExceededWarning')
})
