import type { FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import type { AddressInfo } from 'node:net'

/** A WebSocket to an app (through `injectWS`) that records every message it receives. */
export interface RecordingSocket {
  ws: WebSocket
  messages: Array<Record<string, unknown>>
  /** Resolves with the first message (from now or already received after `from`) matching `type`. */
  next: (type: string, from?: number) => Promise<Record<string, unknown>>
  send: (message: unknown) => void
  closed: Promise<{ code: number, reason: string }>
}

/**
 * Connects through `injectWS` (no network). Its in-memory duplex does not carry a close initiated by
 * the client to the server promptly: for disconnect behaviour use `connectOverNetwork`.
 */
export async function connect (app: FastifyInstance, path = '/', headers: Record<string, string> = {}): Promise<RecordingSocket> {
  return await record(async (onInit) => await app.injectWS(path, { headers }, { onInit }))
}

/** Connects over a real loopback socket (the app is made to listen on 127.0.0.1, port 0, if it is not). */
export async function connectOverNetwork (app: FastifyInstance, path = '/', headers: Record<string, string> = {}): Promise<RecordingSocket> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return await record(async (onInit) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers })
    onInit(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => { resolve() })
      ws.once('error', reject)
    })
    return ws
  })
}

async function record (open: (onInit: (socket: WebSocket) => void) => Promise<WebSocket>): Promise<RecordingSocket> {
  const messages: Array<Record<string, unknown>> = []
  const waiters: Array<{ type: string, from: number, resolve: (m: Record<string, unknown>) => void }> = []
  let resolveClosed!: (v: { code: number, reason: string }) => void
  const closed = new Promise<{ code: number, reason: string }>(resolve => { resolveClosed = resolve })
  const ws = await open((socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>
      messages.push(message)
      for (let i = waiters.length - 1; i >= 0; i--) {
        const waiter = waiters[i]
        if (waiter !== undefined && waiter.type === message.type && messages.length - 1 >= waiter.from) {
          waiters.splice(i, 1)
          waiter.resolve(message)
        }
      }
    })
    socket.on('close', (code, reason) => { resolveClosed({ code, reason: reason.toString() }) })
  })
  return {
    ws,
    messages,
    closed,
    send: (message) => { ws.send(typeof message === 'string' ? message : JSON.stringify(message)) },
    next: async (type, from = 0) => {
      const found = messages.slice(from).find(m => m.type === type)
      if (found !== undefined) return found
      return await new Promise(resolve => { waiters.push({ type, from, resolve }) })
    }
  }
}

/** Polls `condition` every few ms until it holds (for effects that follow a socket event). */
export async function until (condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}
