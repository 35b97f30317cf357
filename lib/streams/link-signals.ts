/** A signal that follows others, and the way to stop following them. */
export interface LinkedSignal {
  /** Aborts, with the same reason, as soon as one of the sources does. */
  readonly signal: AbortSignal
  /** Stops following the sources (their listeners are removed); idempotent. Done by itself on abort. */
  dispose: () => void
}

/**
 * What `AbortSignal.any(sources)` does, without its leak on Node 20: a signal from `AbortSignal.any()`
 * that has an `abort` listener (every SDK, fetch and child process adds one) is pinned in a
 * process-wide set until that listener is removed, and one that stays is never removed, aborted or not
 * (nodejs/node#55351, #64476). Through the whole app the soak measured it: heap growing with every
 * provider call (~6 KB a turn with the OpenAI SDK), flat with this (docs/reliability.md). This is a
 * plain AbortController's signal with a listener on each source. Sources that live longer than the
 * operation (a session's, a connection's, the app's) hold that listener until `dispose()`: call it
 * when the operation ends. Short-lived sources (a turn's, a timeout's) need not.
 */
export function linkSignals (...sources: AbortSignal[]): LinkedSignal {
  const controller = new AbortController()
  const unlinks: Array<() => void> = []
  const dispose = (): void => { for (const unlink of unlinks.splice(0)) unlink() }
  for (const source of sources) {
    if (source.aborted) {
      dispose()
      controller.abort(source.reason)
      break
    }
    const onAbort = (): void => {
      dispose()
      controller.abort(source.reason)
    }
    source.addEventListener('abort', onAbort, { once: true })
    unlinks.push(() => { source.removeEventListener('abort', onAbort) })
  }
  return { signal: controller.signal, dispose }
}
