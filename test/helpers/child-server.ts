import { spawn, type ChildProcess } from 'node:child_process'
import type { Test } from 'tap'

export interface RunningChild {
  child: ChildProcess
  output: () => string
  /** Resolves with the first match of `pattern` in stdout+stderr. */
  waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Starts a command as a child process with the given environment; killed at teardown. */
export function startChild (t: Test, command: string, args: string[], env: Record<string, string>): RunningChild {
  // Not measured by tap's coverage, like every child of a test (test/setup/child-coverage.mjs).
  const child = spawn(command, args, { env: { ...env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  const waiters: Array<{ pattern: RegExp, resolve: (m: RegExpMatchArray) => void }> = []
  const onData = (chunk: Buffer): void => {
    text += chunk.toString()
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]
      const match = waiter === undefined ? null : text.match(waiter.pattern)
      if (waiter !== undefined && match !== null) {
        waiters.splice(i, 1)
        waiter.resolve(match)
      }
    }
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return {
    child,
    output: () => text,
    exited,
    waitFor: async (pattern) => {
      const match = text.match(pattern)
      if (match !== null) return match
      return await new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve })
        void exited.then(() => { reject(new Error(`exited before ${String(pattern)}:\n${text}`)) })
      })
    }
  }
}

/**
 * A minimal environment: no API keys, nothing of the developer's shell. Not measured by tap's coverage,
 * like every child of a test (test/setup/child-coverage.mjs).
 */
export function cleanEnv (extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', _TAPJS_PROCESSINFO_COVERAGE_: '0', ...extra }
}
