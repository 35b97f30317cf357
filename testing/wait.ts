import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises'
import { LLMRTC_ERR_TESTING_TIMEOUT } from '../lib/errors.js'

/** How long the testing kit's waits last by default, in ms. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5000

/** Polls of `until` run on the next event-loop turn before it falls back to timers (effects of fakes are often a tick away). */
const FAST_POLLS = 100
const POLL_INTERVAL_MS = 10

/**
 * Resolves once `condition()` holds. It is checked on the next event-loop turns first (so effects of
 * fakes that settle a tick later cost no time), then every 10 ms until `timeoutMs` (default 5000) passes,
 * when it rejects with LLMRTC_ERR_TESTING_TIMEOUT naming `what`.
 */
export async function until (condition: () => boolean, what = 'a condition', timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (let poll = 0; ; poll++) {
    if (condition()) return
    if (performance.now() >= deadline) throw new LLMRTC_ERR_TESTING_TIMEOUT(timeoutMs, what)
    if (poll < FAST_POLLS) await nextTurn()
    else await delay(POLL_INTERVAL_MS)
  }
}
