import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'

/** How a child process ended. */
export interface ChildExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** The end of what it wrote to stderr (at most 16000 characters). */
  stderr: string
  /** Set when the process could not be started (ENOENT: not installed, EACCES, ...). */
  spawnError?: NodeJS.ErrnoException
}

const STDERR_KEEP = 16_000

/**
 * One run of a local speech binary: `input` is written to its stdin, its stdout is read as a stream.
 * `exited` settles once the process ended and its pipes closed (Node has reaped it: no zombie); it
 * never rejects. An abort of `signal`, or `kill()`, stops the process at once (SIGKILL: nothing of a
 * cancelled run is worth finishing).
 */
export class ChildRun {
  readonly child: ChildProcessWithoutNullStreams
  readonly exited: Promise<ChildExit>
  #stderr = ''
  #done = false
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => { this.kill() }

  constructor (binary: string, args: string[], input: Buffer | string, signal?: AbortSignal) {
    this.child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    this.#signal = signal
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (text: string) => { this.#stderr = (this.#stderr + text).slice(-STDERR_KEEP) })
    // A process that exits before reading all its input makes the write fail with EPIPE: the exit says why.
    this.child.stdin.on('error', () => {})
    this.exited = new Promise<ChildExit>(resolve => {
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        if (this.child.pid !== undefined) return // a failed kill or write; 'close' still follows
        this.#finish()
        resolve({ code: null, signal: null, stderr: '', spawnError: error })
      })
      this.child.once('close', (code, exitSignal) => {
        this.#finish()
        resolve({ code, signal: exitSignal, stderr: this.#stderr })
      })
    })
    signal?.addEventListener('abort', this.#onAbort, { once: true })
    if (signal?.aborted === true) this.kill()
    this.child.stdin.end(input)
  }

  /** Whether the process has ended. */
  get done (): boolean { return this.#done }

  kill (): void {
    if (!this.#done && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }

  /** Everything the process writes to stdout, once it exited. */
  async output (): Promise<{ stdout: Buffer, exit: ChildExit }> {
    const parts: Buffer[] = []
    this.child.stdout.on('data', (chunk: Buffer) => { parts.push(chunk) })
    const exit = await this.exited
    return { stdout: Buffer.concat(parts), exit }
  }

  #finish (): void {
    this.#done = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
  }
}

/** "exited with code 1" / "was stopped by SIGKILL" / "could not be started (ENOENT)". */
export function describeExit (exit: ChildExit): string {
  if (exit.spawnError !== undefined) return `could not be started (${exit.spawnError.code ?? exit.spawnError.message})`
  return exit.signal !== null ? `was stopped by ${exit.signal}` : `exited with code ${String(exit.code)}`
}
