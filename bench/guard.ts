/**
 * Keeps a benchmark bounded. `isolateNetwork()` re-runs the script as a child of the first process:
 * if that one is killed (Ctrl-C, `timeout`), the child would go on alone. This exits when the parent
 * changes (orphaned) or after `maxMs`, calling `cleanup` first (e.g. kill a server child). Explicit
 * exits: wrtc can crash the process at a natural exit.
 */
export function guard (maxMs: number, cleanup: () => void = () => {}): void {
  const parent = process.ppid
  const stop = (why: string, code: number): void => {
    console.error(`benchmark stopped: ${why}`)
    try { cleanup() } finally { process.exit(code) }
  }
  setInterval(() => { if (process.ppid !== parent) stop('its parent process went away', 1) }, 1000).unref()
  setTimeout(() => { stop(`still running after ${Math.round(maxMs / 1000)} s`, 3) }, maxMs).unref()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { stop(signal, 130) })
}
