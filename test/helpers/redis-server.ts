import { spawn, type ChildProcess } from 'node:child_process'
import { createConnection } from 'node:net'
import type { Test } from 'tap'
import { freePort } from './free-port.js'

/** A redis-server child process of one test file. */
export interface RunningRedis {
  port: number
  url: string
  child: ChildProcess
  /** Kills the server (SIGKILL) and resolves once it has exited. */
  kill: () => Promise<void>
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'

/**
 * Starts `redis-server` on a free loopback port, without persistence, waits until it answers PING,
 * and kills it at teardown. Retries with another port when the chosen one was taken in between.
 */
export async function startRedis (t: Test): Promise<RunningRedis> {
  let lastError: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const child = spawn(REDIS_SERVER, ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
    const kill = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
    try {
      await waitForPong(port, child)
      t.teardown(kill)
      return { port, url: `redis://127.0.0.1:${port}`, child, kill }
    } catch (err) {
      lastError = new Error(`redis-server on port ${port} did not start: ${(err as Error).message}\n${output}`)
      await kill()
      if (!/Address already in use|EADDRINUSE/.test(output)) break
    }
  }
  throw lastError
}

/** Sends PING in the inline protocol until `+PONG` comes back (the server may still be loading). */
async function waitForPong (port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('redis-server exited')
    if (await ping(port)) return
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  throw new Error('no PONG within 5 s')
}

async function ping (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(500, () => { done(false) })
    socket.once('error', () => { done(false) })
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.once('connect', () => { socket.write('PING\r\n') })
  })
}
