import type { FastifyInstance } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import WebSocket from 'ws'

export interface RefusedUpgrade {
  status: number
  headers: IncomingHttpHeaders
  /** The JSON body of the refusal. */
  body: Record<string, unknown>
}

/**
 * Attempts a WebSocket upgrade over a real loopback socket (the app is made to listen on 127.0.0.1,
 * port 0) that the server should refuse, and resolves with the HTTP answer. Rejects if it upgrades.
 * (`injectWS` reports only the status of a refusal.)
 */
export async function refusedUpgrade (app: FastifyInstance, path = '/', headers: Record<string, string> = {}): Promise<RefusedUpgrade> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers })
  return await new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate()
      reject(new Error('the upgrade was accepted'))
    })
    ws.once('error', () => {})
    ws.once('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      // The server destroys the socket right after its answer: 'close' may come instead of 'end'.
      const done = (): void => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: Record<string, unknown>
        try {
          body = JSON.parse(text) as Record<string, unknown>
        } catch {
          body = { text }
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body })
      }
      response.once('end', done)
      response.once('close', done)
      response.on('error', () => {})
    })
  })
}
