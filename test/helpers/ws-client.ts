import type { FastifyInstance } from 'fastify'
import type WebSocket from 'ws'

/** A WebSocket to an app (through `injectWS`) that records every message it receives. */
export interface RecordingSocket {
  ws: WebSocket
  messages: Array<Record<string, unknown>>
  /** Resolves with the first message (from now or already received after `from`) matching `type`. */
  next: (type: string, from?: number) => Promise<Record<string, unknown>>
  send: (message: unknown) => void
  closed: Promise<{ code: number, reason: string }>
}

export async function connect (app: FastifyInstance, path = '/'): Promise<RecordingSocket> {
  const messages: Array<Record<string, unknown>> = []
  const waiters: Array<{ type: string, from: number, resolve: (m: Record<string, unknown>) => void }> = []
  let resolveClosed!: (v: { code: number, reason: string }) => void
  const closed = new Promise<{ code: number, reason: string }>(resolve => { resolveClosed = resolve })
  const ws = await app.injectWS(path, {}, {
    onInit (socket) {
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
    }
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
