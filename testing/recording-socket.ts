import type { FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import WebSocket from 'ws'
import { LLMRTC_ERR_TESTING_TIMEOUT } from '../lib/errors.js'
import { DEFAULT_WAIT_TIMEOUT_MS } from './wait.js'

/** A server message as received: JSON, with its `type`. */
export type ReceivedMessage = Record<string, unknown> & { type?: unknown }

/** A WebSocket to an app that records every message it receives. */
export interface RecordingSocket {
  ws: WebSocket
  /** Every message received so far, in order. */
  messages: ReceivedMessage[]
  /**
   * Resolves with the first message of `type` at index `from` (default 0) or later, received already
   * or to come. Rejects with LLMRTC_ERR_TESTING_TIMEOUT after `timeoutMs` (default 5000); its message
   * names the type waited for and the types received so far.
   */
  next: (type: string, from?: number, timeoutMs?: number) => Promise<ReceivedMessage>
  /** Sends `message` as JSON (a string is sent as it is). */
  send: (message: unknown) => void
  /** Settles when the socket closes, with the close code and reason. */
  closed: Promise<{ code: number, reason: string }>
}

/**
 * Connects to llmrtc's WebSocket route through `app.injectWS` (no network, no listening server).
 * `path` is the route (default '/'; the `path` option, behind any prefix). Its in-memory duplex does not
 * carry a close initiated by the client to the server promptly: for disconnects use `connectOverNetwork`.
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

interface Waiter {
  type: string
  from: number
  resolve: (message: ReceivedMessage) => void
}

async function record (open: (onInit: (socket: WebSocket) => void) => Promise<WebSocket>): Promise<RecordingSocket> {
  const messages: ReceivedMessage[] = []
  const waiters = new Set<Waiter>()
  let resolveClosed!: (v: { code: number, reason: string }) => void
  const closed = new Promise<{ code: number, reason: string }>(resolve => { resolveClosed = resolve })
  const ws = await open((socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as ReceivedMessage
      messages.push(message)
      for (const waiter of waiters) {
        if (waiter.type === message.type && messages.length - 1 >= waiter.from) {
          waiters.delete(waiter)
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
    next: async (type, from = 0, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS) => {
      const found = messages.slice(from).find(m => m.type === type)
      if (found !== undefined) return found
      return await new Promise((resolve, reject) => {
        const waiter: Waiter = {
          type,
          from,
          resolve: (message) => {
            clearTimeout(timer)
            resolve(message)
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          const seen = messages.slice(from).map(m => String(m.type)).join(', ')
          reject(new LLMRTC_ERR_TESTING_TIMEOUT(timeoutMs, `a "${type}" message (received since #${from}: ${seen === '' ? 'none' : seen})`))
        }, timeoutMs)
        waiters.add(waiter)
      })
    }
  }
}
