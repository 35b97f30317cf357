/**
 * The chaos bench's servers: child processes of bench/chaos/chaos-server.ts sharing one redis-server
 * (test/helpers/redis-server.ts), each asked over IPC for its stats and for session histories, and
 * drained (then replaced by a fresh process) as an injection.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServerStats } from './chaos-server.js'

const here = dirname(fileURLToPath(import.meta.url))

export interface ServerConfig { stt: string, llm: string, tts: string, redisUrl: string, reconnectGraceMs: number, providerTimeoutMs: number }

export class ServerProcess {
  readonly child: ChildProcess
  port = 0
  /** Set once the bench asked it to drain: its exit is expected. */
  draining = false
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  readonly logs: string[] = []
  /** Gets an invariant the server itself saw broken (chaos-server.ts: audio after tts-cancelled). */
  onViolation: (text: string) => void = () => {}
  readonly #waiters: Array<{ match: (m: Record<string, unknown>) => boolean, resolve: (m: Record<string, unknown>) => void }> = []

  private constructor (config: ServerConfig) {
    this.child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'chaos-server.ts')], {
      cwd: join(here, '..', '..'),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, CHAOS_SERVER: JSON.stringify(config) }
    })
    this.exited = new Promise(resolve => { this.child.once('exit', (code, signal) => { resolve({ code, signal }) }) })
    this.child.on('message', (message: Record<string, unknown>) => {
      if (message.type === 'violation') {
        this.onViolation(String(message.text))
        return
      }
      if (message.type === 'log') {
        this.logs.push(String(message.line))
        if (this.logs.length > 500) this.logs.shift()
        return
      }
      const i = this.#waiters.findIndex(w => w.match(message))
      if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve(message)
    })
  }

  static async start (config: ServerConfig): Promise<ServerProcess> {
    const server = new ServerProcess(config)
    const listening = await server.#receive(m => m.type === 'listening', 120_000)
    server.port = Number(listening.port)
    return server
  }

  get pid (): number { return this.child.pid ?? 0 }
  get url (): string { return `ws://127.0.0.1:${this.port}/` }
  get alive (): boolean { return this.child.exitCode === null && this.child.signalCode === null }

  async stats (): Promise<ServerStats> {
    this.child.send({ cmd: 'stats' })
    return await this.#receive(m => m.type === 'stats', 30_000) as unknown as ServerStats
  }

  async history (id: string): Promise<Array<{ role: string, content: string }> | null> {
    this.child.send({ cmd: 'history', id })
    const reply = await this.#receive(m => m.type === 'history' && m.id === id, 30_000)
    return reply.history as Array<{ role: string, content: string }> | null
  }

  /** Drains (the server's own stop: turns finish, then 1001 to every client) and waits for the exit. */
  async drain (): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    this.draining = true
    this.child.send({ cmd: 'drain' })
    return await this.exited
  }

  /** SIGKILL as an injection: its exit is expected. */
  async killNow (): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    this.draining = true
    this.child.kill('SIGKILL')
    return await this.exited
  }

  kill (): void {
    if (this.alive) this.child.kill('SIGKILL')
  }

  async #receive (match: (m: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    return await new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m: Record<string, unknown>) => { clearTimeout(timer); resolve(m) } }
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter)
        if (i >= 0) this.#waiters.splice(i, 1)
        reject(new Error(`server ${this.pid}: no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.push(waiter)
      void this.exited.then(({ code, signal }) => { reject(new Error(`server ${this.pid} exited (${code ?? signal})`)) })
    })
  }
}
