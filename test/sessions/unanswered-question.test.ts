import t, { type Test } from 'tap'
import { systemClock } from '../../lib/clock.js'
import type { ChatMessage } from '../../lib/providers/types.js'
import { MemorySessionStore } from '../../lib/sessions/memory-session-store.js'
import { SessionManager } from '../../lib/sessions/session-manager.js'
import type { SessionConnection } from '../../lib/sessions/session.js'
import type { SessionRecord, SessionStore } from '../../lib/sessions/session-store.js'
import { unansweredQuestion } from '../../lib/sessions/unanswered-question.js'

// Several servers on one store: each SessionManager is one server, the store is Redis's part (shared).
// A server "killed" is one that is simply abandoned: no detach, no turn end, no write after the last.

const QUESTION: ChatMessage = { role: 'user', content: 'what time is it' }

function sharedStore (): MemorySessionStore & { shared: true } {
  return Object.assign(new MemorySessionStore(), { shared: true as const })
}

function connection (id: string): SessionConnection {
  return { id, send: () => {}, close: () => {} }
}

function server (t: Test, store: SessionStore): SessionManager {
  const manager = new SessionManager({ store })
  t.teardown(() => { void manager.close() })
  return manager
}

/** What a turn does up to its LLM call: the user's words in the history, the turn opened (written). */
async function askOn (manager: SessionManager, store: SessionStore): Promise<string> {
  const session = manager.create()
  manager.bind(session, connection('a'))
  session.history.add({ role: 'user', content: 'hello' }, { role: 'assistant', content: 'Hi.' }, { ...QUESTION })
  manager.openTurn(session, 'turn-1')
  await until(async () => (await store.get(session.id))?.openTurn === 'turn-1')
  return session.id
}

async function until (holds: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await holds()) return
    await new Promise(resolve => setImmediate(resolve))
  }
  throw new Error('never held')
}

const record = (history: ChatMessage[], openTurn?: string): SessionRecord => ({ id: 's', principal: null, history, data: {}, createdAt: 0, lastActivityAt: 0, ...(openTurn !== undefined ? { openTurn } : {}) })

t.test('the rule: a turn still open and a history that ends with the user\'s words', async t => {
  t.same(unansweredQuestion(record([QUESTION], 't')), QUESTION, 'open turn, question last: answered')
  t.equal(unansweredQuestion(record([QUESTION])), undefined, 'no open turn (it ended, or its client left a live server): not answered')
  t.equal(unansweredQuestion(record([QUESTION, { role: 'assistant', content: 'It is' }], 't')), undefined, 'a barge-in\'s heard part after it: answered already')
  t.equal(unansweredQuestion(record([], 't')), undefined, 'an empty history')
  t.equal(unansweredQuestion(record([{ role: 'assistant', content: 'Hello!' }], 't')), undefined, 'a greeting last')
})

t.test('a turn\'s question is written before its answer, with the turn marked open', async t => {
  const store = sharedStore()
  const a = server(t, store)
  const id = await askOn(a, store)
  const saved = await store.get(id)
  t.equal(saved?.openTurn, 'turn-1')
  t.same(saved?.history.at(-1), QUESTION, 'the question is in the record')
  const session = a.get(id)
  if (session === undefined) throw new Error('no session')
  session.history.add({ role: 'assistant', content: 'Noon.' })
  a.closeTurn(session)
  await until(async () => (await store.get(id))?.openTurn === undefined)
  t.same((await store.get(id))?.history.at(-1), { role: 'assistant', content: 'Noon.' }, 'the answer closes it')
})

t.test('a server killed mid-turn: the next server to resume the session takes the question over, once', async t => {
  const store = sharedStore()
  const id = await askOn(server(t, store), store)
  const b = server(t, store)
  const resumed = await b.resume(id, connection('b'), null)
  if (typeof resumed === 'string') throw new Error(resumed)
  t.same(resumed.session.unanswered, QUESTION, 'server B answers it')
  await until(async () => (await store.get(id))?.openTurn === undefined)
  t.pass('B\'s resume wrote the record with no turn open')

  // The client moves on to server C before B answered anything (B killed too, or the client dropped).
  const c = server(t, store)
  const again = await c.resume(id, connection('c'), null)
  if (typeof again === 'string') throw new Error(again)
  t.equal(again.session.unanswered, undefined, 'server C does not answer it a second time')
  t.same(again.session.history.messages.at(-1), QUESTION, 'it stays in the history')
})

t.test('two servers resuming the killed server\'s session at the same moment: one answers', async t => {
  const store = sharedStore()
  const id = await askOn(server(t, store), store)
  const [b, c] = [server(t, store), server(t, store)]
  const results = await Promise.all([b.resume(id, connection('b'), null), c.resume(id, connection('c'), null)])
  const takers = results.filter(r => typeof r !== 'string' && r.session.unanswered !== undefined)
  t.equal(takers.length, 1, 'the store\'s claim on the turn lets one of them answer')
})

t.test('a killed server\'s answer turn that was itself cut: the next server answers (a new turn, a new claim)', async t => {
  const store = sharedStore()
  const id = await askOn(server(t, store), store)
  const b = server(t, store)
  const resumed = await b.resume(id, connection('b'), null)
  if (typeof resumed === 'string') throw new Error(resumed)
  b.openTurn(resumed.session, 'turn-2') // B starts answering, then dies
  await until(async () => (await store.get(id))?.openTurn === 'turn-2')
  const again = await server(t, store).resume(id, connection('c'), null)
  if (typeof again === 'string') throw new Error(again)
  t.same(again.session.unanswered, QUESTION)
})

t.test('a client that left a live server mid-turn: nobody answers the question on its return', async t => {
  const store = sharedStore()
  const a = server(t, store)
  const id = await askOn(a, store)
  const session = a.get(id)
  if (session === undefined) throw new Error('no session')
  const conn = session.connection
  if (conn === undefined) throw new Error('not bound')
  a.detach(session, conn)
  await until(async () => (await store.get(id))?.openTurn === undefined)
  t.pass('the detach wrote the record with no turn open (the turn is cancelled with its connection)')
  const sameServer = await a.resume(id, connection('a2'), null)
  if (typeof sameServer === 'string') throw new Error(sameServer)
  t.equal(sameServer.session.unanswered, undefined, 'back on the same live server: not answered')
  a.detach(sameServer.session, sameServer.session.connection ?? connection('x'))
  await until(async () => a.get(id) === undefined)
  const elsewhere = await server(t, store).resume(id, connection('b'), null)
  if (typeof elsewhere === 'string') throw new Error(elsewhere)
  t.equal(elsewhere.session.unanswered, undefined, 'nor on another server')
})

t.test('a reconnect to the live server while its turn still runs (one process, memory store): not answered', async t => {
  const store = new MemorySessionStore()
  const a = server(t, store)
  const id = await askOn(a, store)
  const resumed = await a.resume(id, connection('a2'), null)
  if (typeof resumed === 'string') throw new Error(resumed)
  t.equal(resumed.session.unanswered, undefined, 'the session was in memory: its own turn answers it')
  t.equal(resumed.session.openTurn, 'turn-1', 'the turn is still open here')
})

t.test('a store without claim: the record alone decides', async t => {
  const inner = sharedStore()
  const store: SessionStore = { shared: true, get: async (id) => await inner.get(id), set: async (r, ttl) => { await inner.set(r, ttl) }, delete: async (id) => { await inner.delete(id) }, close: async () => {} }
  const id = await askOn(server(t, store), store)
  const resumed = await server(t, store).resume(id, connection('b'), null)
  if (typeof resumed === 'string') throw new Error(resumed)
  t.same(resumed.session.unanswered, QUESTION)
})

t.test('a claim that fails (store down): the question is left, the resume goes on', async t => {
  const store = sharedStore()
  const id = await askOn(server(t, store), store)
  store.claim = async () => { throw new Error('down') }
  const resumed = await server(t, store).resume(id, connection('b'), null)
  if (typeof resumed === 'string') throw new Error(resumed)
  t.equal(resumed.session.unanswered, undefined)
  t.same(resumed.session.history.messages.at(-1), QUESTION)
})

t.test('the memory store\'s claim: once per key until its TTL ends', async t => {
  let now = 1000
  const store = new MemorySessionStore({ ...systemClock, now: () => now })
  t.equal(await store.claim('k', 100), true)
  t.equal(await store.claim('k', 100), false)
  t.equal(await store.claim('other', 100), true)
  now += 100
  t.equal(await store.claim('k', 100), true, 'expired: taken again')
})
