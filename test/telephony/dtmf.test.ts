import t from 'tap'
import { DtmfCollector } from '../../lib/telephony/dtmf.js'
import { collectDigitsTool, COLLECT_DIGITS_TOOL } from '../../lib/telephony/dtmf-tool.js'
import { PlaybookEngine } from '../../lib/playbooks/playbook-engine.js'
import { matchDtmf } from '../../lib/playbooks/conditions.js'
import { validatePlaybook } from '../../lib/playbooks/validate-playbook.js'
import type { Playbook } from '../../lib/playbooks/types.js'
import type { ToolContext } from '../../lib/tools/types.js'
import { FakeClock } from '../helpers/fake-clock.js'

// The keypad of one call, on a fake clock: keys kept while nobody collects, collections by count,
// terminator, timeouts and signal, and no timer left behind.

/** Lets resolved promises run. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

function pressAll (collector: DtmfCollector, keys: string): void {
  for (const key of keys) collector.press(key)
}

t.test('collects a count of keys, taking the ones pressed before first', async t => {
  const clock = new FakeClock()
  const collector = new DtmfCollector({ clock })
  pressAll(collector, '12')
  t.equal(collector.buffered, '12', 'keys pressed with no collection running are kept')
  const collected = collector.collect({ count: 4 })
  await settle()
  t.equal(collector.buffered, '', 'the collection took them')
  pressAll(collector, '345')
  t.same(await collected, { digits: '1234', timedOut: false, terminated: false }, 'resolved at the count')
  t.equal(collector.buffered, '5', 'the key after the count stays for the next collection')
  t.equal(clock.pending, 0, 'no timer left')
})

t.test('the terminator ends the collection and is not returned', async t => {
  const clock = new FakeClock()
  const collector = new DtmfCollector({ clock })
  const collected = collector.collect({ terminator: '#' })
  pressAll(collector, '987#1')
  t.same(await collected, { digits: '987', timedOut: false, terminated: true })
  t.equal(collector.buffered, '1')
  t.equal(clock.pending, 0)
})

t.test('buffered keys with a terminator in them: the collection ends on it at once', async t => {
  const collector = new DtmfCollector({ clock: new FakeClock() })
  pressAll(collector, '42#7')
  t.same(await collector.collect({ terminator: '#', count: 10 }), { digits: '42', timedOut: false, terminated: true })
  t.equal(collector.buffered, '7')
})

t.test('first-key and inter-digit timeouts', async t => {
  const clock = new FakeClock()
  const collector = new DtmfCollector({ clock })
  let result: unknown
  void collector.collect({ count: 4, firstDigitTimeoutMs: 8000, interDigitTimeoutMs: 3000 }).then(r => { result = r })
  clock.advance(7999)
  await settle()
  t.equal(result, undefined, 'still waiting for the first key before its timeout')
  collector.press('5')
  clock.advance(2999)
  await settle()
  t.equal(result, undefined, 'a key resets the wait to the inter-digit timeout')
  collector.press('6')
  clock.advance(2999)
  await settle()
  t.equal(result, undefined)
  clock.advance(1)
  await settle()
  t.same(result, { digits: '56', timedOut: true, terminated: false }, 'the inter-digit timeout ends it with the keys so far')
  t.equal(clock.pending, 0, 'no timer left')

  let empty: unknown
  void collector.collect({ count: 1 }).then(r => { empty = r })
  clock.advance(9999)
  await settle()
  t.equal(empty, undefined, 'default first-key timeout: 10 s')
  clock.advance(1)
  await settle()
  t.same(empty, { digits: '', timedOut: true, terminated: false })
})

t.test('the signal ends the collection; an aborted signal collects nothing and consumes nothing', async t => {
  const clock = new FakeClock()
  const collector = new DtmfCollector({ clock })
  const controller = new AbortController()
  const collected = collector.collect({ count: 4, signal: controller.signal })
  collector.press('1')
  controller.abort()
  t.same(await collected, { digits: '1', timedOut: true, terminated: false })
  t.equal(clock.pending, 0, 'the abort cleared the timer')
  collector.press('2')
  t.same(await collector.collect({ count: 1, signal: AbortSignal.abort() }), { digits: '', timedOut: true, terminated: false })
  t.equal(collector.buffered, '2', 'the key stays buffered')
  t.equal(collector.waiting, 0)
})

t.test('collections run one at a time, in order', async t => {
  const clock = new FakeClock()
  const collector = new DtmfCollector({ clock })
  const first = collector.collect({ count: 2 })
  const second = collector.collect({ count: 2 })
  t.equal(collector.waiting, 2)
  pressAll(collector, '1234')
  t.same(await first, { digits: '12', timedOut: false, terminated: false })
  t.same(await second, { digits: '34', timedOut: false, terminated: false })
  t.equal(clock.pending, 0)
})

t.test('the buffer is bounded, other characters are ignored, close ends everything', async t => {
  const clock = new FakeClock(5000)
  const collector = new DtmfCollector({ clock, maxBuffered: 3 })
  t.same(collector.press('7'), { digit: '7', timestamp: 5000 }, 'a key press is an event with its time')
  t.equal(collector.press('x'), undefined, 'not a key')
  t.equal(collector.press('12'), undefined, 'not one key')
  pressAll(collector, '*#AD')
  t.equal(collector.buffered, '#AD', 'the oldest keys are dropped past the bound')
  collector.clear()
  t.equal(collector.buffered, '')
  const pending = collector.collect({ count: 5 })
  collector.press('9')
  collector.close()
  t.same(await pending, { digits: '9', timedOut: true, terminated: false }, 'close ends a running collection')
  t.equal(collector.press('1'), undefined, 'keys after close are ignored')
  t.same(await collector.collect({ count: 1 }), { digits: '', timedOut: true, terminated: false })
  t.equal(clock.pending, 0)
})

function toolContext (signal: AbortSignal): ToolContext {
  return { signal, sessionId: 's', turnId: 't', callId: 'c', data: {} }
}

t.test('collect_digits: count, default terminator, timeout, abort', async t => {
  const clock = new FakeClock()
  const collector = new DtmfCollector({ clock })
  const tool = collectDigitsTool(collector)
  t.equal(tool.definition.name, COLLECT_DIGITS_TOOL)
  t.match(tool.definition.parameters, { type: 'object', properties: { count: { type: 'integer' }, terminator: { type: 'string' }, timeoutMs: { type: 'integer' } } })
  t.ok((tool.timeoutMs ?? 0) > 60_000, 'its own deadline is past any wait it may be asked for')

  pressAll(collector, '12')
  const four = tool.handler({ count: 4 }, toolContext(new AbortController().signal))
  pressAll(collector, '34')
  t.same(await four, { digits: '1234' }, 'keys pressed before the call count')

  const untilHash = tool.handler({}, toolContext(new AbortController().signal))
  pressAll(collector, '55#')
  t.same(await untilHash, { digits: '55' }, 'without a count, # ends the entry')

  const slow = tool.handler({ count: 3, timeoutMs: 2000 }, toolContext(new AbortController().signal))
  collector.press('8')
  clock.advance(2000)
  t.same(await slow, { digits: '8', timedOut: true }, 'the caller stopped pressing')

  const controller = new AbortController()
  const cut = tool.handler({ count: 3 }, toolContext(controller.signal))
  controller.abort(new Error('barge-in'))
  await t.rejects(async () => await cut, /barge-in/, 'the call\'s signal ends it with its reason')
  t.equal(clock.pending, 0, 'no timer left')
})

const menu: Playbook = {
  id: 'ivr',
  name: 'IVR',
  initialStage: 'menu',
  stages: [
    { id: 'menu', name: 'Menu', systemPrompt: 'Press 1 for sales.' },
    { id: 'sales', name: 'Sales', systemPrompt: 'Sell.' },
    { id: 'pin', name: 'PIN', systemPrompt: 'PIN.' }
  ],
  transitions: [
    { id: 'to-sales', from: 'menu', condition: { type: 'dtmf', digits: '1' }, action: { targetStage: 'sales' } },
    { id: 'to-pin', from: 'menu', condition: { type: 'dtmf', pattern: '^\\*\\d{2}$' }, action: { targetStage: 'pin' } },
    { id: 'back', from: 'sales', condition: { type: 'dtmf', digits: '*0' }, action: { targetStage: 'menu' } }
  ]
}

t.test('playbook: dtmf transitions match the keys pressed in the stage', async t => {
  t.same(validatePlaybook(menu).warnings, [])
  const engine = new PlaybookEngine({ playbook: menu, sessionId: 's', data: {}, clock: new FakeClock() })
  await engine.start()
  t.equal(await engine.afterDtmf('2'), undefined, 'a key no transition waits for')
  t.match(await engine.afterDtmf('1'), { from: 'menu', to: 'sales', transitionId: 'to-sales', reason: 'dtmf: 1' }, 'the keys end with 1')
  await engine.apply({ from: 'menu', to: 'sales', transitionId: 'to-sales', reason: 'dtmf: 1', clearHistory: false })
  t.equal(await engine.afterDtmf('0'), undefined, 'the keys of the previous stage no longer count')
  t.equal(await engine.afterDtmf('*'), undefined)
  t.match(await engine.afterDtmf('0'), { to: 'menu', reason: 'dtmf: *0' })
  await engine.apply({ from: 'sales', to: 'menu', transitionId: 'back', reason: 'dtmf: *0', clearHistory: false })
  await engine.afterDtmf('*')
  await engine.afterDtmf('4')
  t.match(await engine.afterDtmf('2'), { to: 'pin', reason: 'dtmf: *42' }, 'a pattern')

  t.equal(matchDtmf({ digits: '12' }, '9912'), '12')
  t.equal(matchDtmf({ digits: '12' }, '129'), undefined)
  t.equal(matchDtmf({ pattern: '\\d{3}#' }, '*123#'), '123#')

  let seen: string | undefined
  const custom: Playbook = { ...menu, transitions: [{ id: 'c', from: 'menu', condition: { type: 'custom', evaluate: (ctx) => { seen = ctx.dtmfDigits; return ctx.dtmfDigits === '77' } }, action: { targetStage: 'sales' } }] }
  const other = new PlaybookEngine({ playbook: custom, sessionId: 's', data: {} })
  await other.start()
  t.equal(await other.afterDtmf('7'), undefined)
  t.equal(seen, '7', 'custom conditions see the keys pressed in the stage')
  t.match(await other.afterDtmf('7'), { to: 'sales', reason: 'custom: c' })
  other.close()
  t.equal(await other.afterDtmf('1'), undefined, 'nothing after close')
})

t.test('playbook validation: dtmf needs exactly one of digits and pattern', async t => {
  const withCondition = (condition: unknown): unknown => ({ ...menu, transitions: [{ id: 'x', from: 'menu', condition, action: { targetStage: 'sales' } }] })
  t.throws(() => validatePlaybook(withCondition({ type: 'dtmf' })), { code: 'LLMRTC_ERR_PLAYBOOK_INVALID', message: /dtmf needs exactly one of digits/ })
  t.throws(() => validatePlaybook(withCondition({ type: 'dtmf', digits: '1', pattern: '1' })), { message: /exactly one/ })
  t.throws(() => validatePlaybook(withCondition({ type: 'dtmf', digits: '1x' })), { message: /dtmf needs digits \(phone keys/ })
  t.throws(() => validatePlaybook(withCondition({ type: 'dtmf', digits: '' })), { message: /dtmf needs digits/ })
  t.throws(() => validatePlaybook(withCondition({ type: 'dtmf', pattern: '(' })), { message: /dtmf needs pattern \(the source of a valid regular expression/ })
  t.doesNotThrow(() => validatePlaybook(withCondition({ type: 'dtmf', pattern: '^\\d{4}#$' })))
})
