import { getEventListeners } from 'node:events'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { linkSignals } from '../../../lib/streams/link-signals.js'

t.test('a linked signal aborts with the reason of the first source that does, and then lets go of them all', async t => {
  const a = new AbortController()
  const b = new AbortController()
  const { signal } = linkSignals(a.signal, b.signal)
  t.equal(signal.aborted, false)
  t.equal(getEventListeners(a.signal, 'abort').length, 1)
  b.abort('barge-in')
  t.equal(signal.aborted, true)
  t.equal(signal.reason, 'barge-in')
  t.equal(getEventListeners(a.signal, 'abort').length, 0, 'the other source is no longer followed')
  a.abort('later')
  t.equal(signal.reason, 'barge-in')
})

t.test('an already aborted source aborts it at once; dispose() stops following long-lived sources', async t => {
  const session = new AbortController()
  t.equal(linkSignals(session.signal, AbortSignal.abort('gone')).signal.reason, 'gone')
  t.equal(getEventListeners(session.signal, 'abort').length, 0, 'nothing left on the other source')
  // Ten at once: Node warns (MaxListenersExceededWarning) from eleven listeners on one signal, which in
  // the test output reads as a leak. Ten show the unlinking as well as a hundred.
  const links = Array.from({ length: 10 }, () => linkSignals(session.signal, new AbortController().signal))
  t.equal(getEventListeners(session.signal, 'abort').length, 10)
  for (const link of links) {
    link.dispose()
    link.dispose()
  }
  t.equal(getEventListeners(session.signal, 'abort').length, 0, 'each operation unlinked when it ended')
  session.abort()
  t.ok(links.every(link => !link.signal.aborted), 'a disposed link no longer follows')
})

t.test('a linked signal that someone listens to is collected once it aborted and is unreachable', async t => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const refs: Array<WeakRef<AbortSignal>> = []
  for (let i = 0; i < 200; i++) {
    const turn = new AbortController()
    const { signal } = linkSignals(turn.signal, AbortSignal.timeout(1))
    // What an SDK does with the signal it is given: listen, and never remove the listener.
    signal.addEventListener('abort', () => {}, { once: true })
    refs.push(new WeakRef(signal))
    if (i % 2 === 0) turn.abort()
  }
  await new Promise(resolve => setTimeout(resolve, 50))
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise(resolve => setImmediate(resolve))
  }
  // The last one or two may still be referenced from the stack.
  const alive = refs.filter(ref => ref.deref() !== undefined).length
  t.ok(alive <= 5, `${refs.length - alive} of ${refs.length} were collected`)
})
