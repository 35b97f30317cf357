import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT, LLMRTC_ERR_AUDIO_PROCESSING } from '../errors.js'

/** How an ffmpeg run ended. */
export interface FfmpegExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** The end of what ffmpeg wrote to stderr (at most 2000 characters). */
  stderr: string
}

const STDERR_KEEP = 2000

/**
 * One ffmpeg child process fed on stdin and read on stdout. `exited` settles once the process exited
 * and its pipes closed (Node has reaped it: no zombie), and rejects with LLMRTC_ERR_AUDIO_PROCESSING
 * when ffmpeg could not be started (missing binary). `kill()` stops it at once (SIGKILL: there is no
 * output file to finish) and is safe to call at any time.
 */
export class FfmpegProcess {
  readonly child: ChildProcessWithoutNullStreams
  readonly exited: Promise<FfmpegExit>
  #stderr = ''
  #done = false

  constructor (path: string, args: string[]) {
    this.child = spawn(path, ['-hide_banner', '-loglevel', 'error', '-nostats', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stderr.setEncoding('utf8')
    this.child.stderr.on('data', (text: string) => { this.#stderr = (this.#stderr + text).slice(-STDERR_KEEP) })
    // Writing to an ffmpeg that already gave up fails with EPIPE: the exit status says why.
    this.child.stdin.on('error', () => {})
    this.exited = new Promise<FfmpegExit>((resolve, reject) => {
      this.child.once('error', (error: Error & { code?: string }) => {
        this.#done = true
        reject(new LLMRTC_ERR_AUDIO_PROCESSING(`ffmpeg could not be started (${error.code ?? error.message}); install it or @ffmpeg-installer/ffmpeg`, { cause: error }))
      })
      this.child.once('close', (code, signal) => {
        this.#done = true
        resolve({ code, signal, stderr: this.#stderr.trim() })
      })
    })
    this.exited.catch(() => {})
  }

  /** Whether the process has ended. */
  get done (): boolean { return this.#done }

  /** Writes to ffmpeg's stdin, waiting while its pipe is full. Returns false once stdin is closed. */
  async write (chunk: Buffer): Promise<boolean> {
    const stdin = this.child.stdin
    if (stdin.destroyed || stdin.writableEnded) return false
    if (stdin.write(chunk)) return true
    await new Promise<void>(resolve => {
      const done = (): void => { stdin.off('drain', done); stdin.off('close', done); resolve() }
      stdin.once('drain', done)
      stdin.once('close', done)
    })
    return !stdin.destroyed
  }

  /** No more input. */
  end (): void {
    if (!this.child.stdin.destroyed && !this.child.stdin.writableEnded) this.child.stdin.end()
  }

  kill (): void {
    if (!this.#done && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }
}

/** The error for an ffmpeg run that ended unsuccessfully: it could not decode its input. */
export function undecodable (exit: FfmpegExit, what: string): Error {
  const how = exit.signal !== null ? `was stopped by ${exit.signal}` : `exited with code ${String(exit.code)}`
  return new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`${what} could not be decoded (ffmpeg ${how})`, { cause: exit })
}
