import type { Clock } from '../clock.js'
import type { HookRegistry } from '../hooks/hook-registry.js'
import type { Logger } from '../logger.js'
import type { Session } from '../sessions/session.js'
import { COLLECT_DIGITS_TOOL, collectDigitsTool } from './dtmf-tool.js'
import { DtmfCollector } from './dtmf.js'

// The keys of a call, kept with its session: created when the call starts, fed by the media socket's
// `dtmf` events, read by the call's `collect_digits` tool. Gone with the session.
const keypads = new WeakMap<Session, DtmfCollector>()

/**
 * Gives a call's session its keypad and offers `collect_digits` on it (a transport tool: the agent's or the
 * playbook's own tool of that name wins). Called once, when the call starts.
 */
export function offerKeypad (session: Session, clock?: Clock): void {
  if (session.transportTools.some(tool => tool.definition.name === COLLECT_DIGITS_TOOL)) return
  session.transportTools.push(collectDigitsTool(keypadOf(session, clock)))
}

/** The session's keypad, made on first use (a device that sends keys without offering `collect_digits`). */
function keypadOf (session: Session, clock?: Clock): DtmfCollector {
  let keypad = keypads.get(session)
  if (keypad === undefined) {
    keypad = new DtmfCollector(clock !== undefined ? { clock } : {})
    keypads.set(session, keypad)
  }
  return keypad
}

/** Where a call's key presses go besides its keypad. */
export interface KeyPressTargets {
  hooks: HookRegistry
  /** The session's playbook (`fastify.llmrtcPipeline.keyPressed`): resolves true when the stage changed. */
  keyPressed: (session: Session, digit: string) => Promise<boolean>
  log: Logger
  /** For the keypad when the session has none yet. */
  clock?: Clock
}

/**
 * The caller (or a device's keypad) pressed `digit`: the keypad takes it (a running `collect_digits`, else the buffer), `onDtmf`
 * runs, and, unless a `collect_digits` call took the key, the session's playbook checks its `dtmf`
 * transitions once the running turn is over. A key that moves the playbook is not kept for a later
 * `collect_digits`. Anything that is not a DTMF key (0-9, *, #, A-D) is ignored.
 */
export function callKeyPressed (session: Session, digit: string, targets: KeyPressTargets): void {
  const keypad = keypadOf(session, targets.clock)
  const forTool = keypad.waiting > 0
  const event = keypad.press(digit)
  if (event === undefined) {
    targets.log.debug({ sessionId: session.id, digit }, 'ignored a DTMF event that is not a key')
    return
  }
  targets.log.debug({ sessionId: session.id, digit, forTool }, 'DTMF key')
  void targets.hooks.run('onDtmf', session.id, event)
  if (forTool) return
  targets.keyPressed(session, digit).then((moved) => { if (moved) keypad.clear() }, (err: unknown) => {
    targets.log.warn({ err, sessionId: session.id }, 'a key press could not be given to the playbook')
  })
}

/** Ends the call's running collections (their keys so far are returned) and forgets its keys. */
export function closeKeypad (session: Session): void {
  keypads.get(session)?.close()
  keypads.delete(session)
}
