import { EventEmitter } from 'node:events'
import t from 'tap'
import { SessionOwnership } from '../../../lib/observability/session-ownership.js'
import type { Session } from '../../../lib/sessions/session.js'

/** A session manager's part that ownership uses: the sessions it holds, and `ended`. */
class FakeManager extends EventEmitter {
  readonly held = new Map<string, Session>()
  get (id: string): Session | undefined { return this.held.get(id) }
  hold (id: string): void { this.held.set(id, { id } as unknown as Session) }
  end (id: string): void {
    const session = this.held.get(id)
    this.held.delete(id)
    this.emit('ended', session)
  }
}

t.test('a session is an app\'s while held and after it ended there, unless another app of the process holds it now', async t => {
  const a = new FakeManager()
  const b = new FakeManager()
  const ownsA = new SessionOwnership(a)
  const ownsB = new SessionOwnership(b)
  t.teardown(() => { ownsA.close(); ownsB.close() })
  a.hold('s1')
  t.ok(ownsA.owns('s1'))
  t.notOk(ownsB.owns('s1'))
  a.end('s1')
  t.ok(ownsA.owns('s1'), 'ended on A: events published after the end are still A\'s')
  t.notOk(ownsB.owns('s1'))
  b.hold('s1')
  t.ok(ownsB.owns('s1'), 'resumed on B (a shared store)')
  t.notOk(ownsA.owns('s1'), 'so no longer A\'s: its tokens are not counted twice')
  b.end('s1')
  t.ok(ownsB.owns('s1'))
  t.ok(ownsA.owns('s1'), 'held by no app: both ended it (events of a cancelled turn)')
  ownsB.close()
  b.hold('s1')
  t.ok(ownsA.owns('s1'), 'a closed ownership (its app closed) is not asked')
})
