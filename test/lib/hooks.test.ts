import t from 'tap'
import { HookRegistry } from '../../lib/hooks/hook-registry.js'
import type { Logger } from '../../lib/logger.js'
import { FakeClock } from '../helpers/fake-clock.js'

function recordingLogger (): { log: Logger, errors: unknown[] } {
  const errors: unknown[] = []
  const noop = (): void => {}
  const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: (obj) => { errors.push(obj) }, child: () => log }
  return { log, errors }
}

t.test('hooks run in registration order with their arguments, each awaited', async t => {
  const { log } = recordingLogger()
  const hooks = new HookRegistry(log)
  const calls: string[] = []
  hooks.addHook('onConnection', async (sessionId, connectionId) => {
    await new Promise(resolve => setTimeout(resolve, 5))
    calls.push(`first ${sessionId} ${connectionId}`)
  })
  hooks.addHook('onConnection', (sessionId) => { calls.push(`second ${sessionId}`) })
  await hooks.run('onConnection', 's1', 'c1')
  t.same(calls, ['first s1 c1', 'second s1'])
  t.ok(hooks.has('onConnection'))
  t.notOk(hooks.has('onDisconnect'))
})

t.test('a hooks object registers every handler it has', async t => {
  const hooks = new HookRegistry(recordingLogger().log)
  const seen: string[] = []
  hooks.addHooks({ onSpeechStart: (id) => { seen.push(`start ${id}`) }, onSpeechEnd: (id, _ts, ms) => { seen.push(`end ${id} ${ms}`) }, onError: undefined })
  await hooks.run('onSpeechStart', 's', 1)
  await hooks.run('onSpeechEnd', 's', 2, 1500)
  t.same(seen, ['start s', 'end s 1500'])
})

t.test('an unknown hook name is refused with the list of names', async t => {
  const hooks = new HookRegistry(recordingLogger().log)
  t.throws(() => { hooks.addHook('onSomething' as 'onError', () => {}) }, { code: 'LLMRTC_ERR_HOOK_UNKNOWN', message: /Unknown llmrtc hook "onSomething": expected one of onConnection, / })
  t.throws(() => { hooks.addHook('onError', 'nope' as unknown as () => void) }, { code: 'LLMRTC_ERR_HOOK_NOT_A_FUNCTION' })
})

t.test('a failing hook is logged and reported to onError, and later handlers still run', async t => {
  const { log, errors } = recordingLogger()
  const hooks = new HookRegistry(log)
  const reported: Array<{ message: string, hook: unknown }> = []
  let laterRan = false
  hooks.addHook('onDisconnect', () => { throw new Error('hook bug') })
  hooks.addHook('onDisconnect', () => { laterRan = true })
  hooks.addHook('onError', (error, context) => { reported.push({ message: error.message, hook: context.details?.hook }) })
  await hooks.run('onDisconnect', 's', { startTime: 0, endTime: 1, durationMs: 1 })
  t.ok(laterRan)
  t.same(reported, [{ message: 'hook bug', hook: 'onDisconnect' }])
  t.equal(errors.length, 1)
})

t.test('the onError report of a failing hook is stamped by the injected clock', async t => {
  const clock = new FakeClock(1234)
  const hooks = new HookRegistry(recordingLogger().log, clock)
  const stamps: number[] = []
  hooks.addHook('onConnection', () => { throw new Error('hook bug') })
  hooks.addHook('onError', (_error, context) => { stamps.push(context.timestamp) })
  await hooks.run('onConnection', 's', 'c')
  clock.advance(10)
  await hooks.run('onConnection', 's', 'c')
  t.same(stamps, [1234, 1244])
})

t.test('a failing onError hook is logged once and does not loop', async t => {
  const { log, errors } = recordingLogger()
  const hooks = new HookRegistry(log)
  let calls = 0
  hooks.addHook('onError', () => { calls++; throw new Error('broken reporter') })
  hooks.addHook('onConnection', () => { throw 'not an error object' }) // eslint-disable-line no-throw-literal
  await hooks.run('onConnection', 's', 'c')
  t.equal(calls, 1)
  t.equal(errors.length, 2)
})

t.test('guardrail hooks block the turn by throwing', async t => {
  const hooks = new HookRegistry(recordingLogger().log)
  hooks.addHook('onLLMEnd', () => { throw new Error('blocked: off-topic') })
  hooks.addHook('onSTTEnd', () => { throw new Error('blocked: profanity') })
  const ctx = { turnId: 't', sessionId: 's', startTime: 0 }
  const timing = { startTime: 0, endTime: 1, durationMs: 1 }
  await t.rejects(hooks.run('onLLMEnd', ctx, { fullText: 'x' }, timing), { message: 'blocked: off-topic' })
  await t.rejects(hooks.run('onSTTEnd', ctx, { text: 'x', isFinal: true }, timing), { message: 'blocked: profanity' })
})
