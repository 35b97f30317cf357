/**
 * The providers' side of the chaos bench: the loopback OpenAI mock of test/mocks (the servers' real
 * OpenAI SDK providers talk to it) behind one TCP forwarder per role, and the provider faults injected
 * through them: connection refused (the forwarder stops listening for a while), no answer (past the
 * servers' deadline), 5xx (twice: the SDK retries once), a stream cut mid-answer, a malformed answer,
 * and slow providers (the forwarder delays every chunk for a while).
 * A scripted fault is taken by whichever session's request comes next: it fails one turn somewhere.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { startOpenAIMock, type MockAction, type MockRoute, type OpenAIMock } from '../../test/mocks/openai-mock.js'

export type Role = 'stt' | 'llm' | 'tts'
export const ROLES: readonly Role[] = ['stt', 'llm', 'tts']
export type ProviderFault = 'refused' | 'hang' | '5xx' | 'cut' | 'malformed' | 'slow'
export const PROVIDER_FAULTS: readonly ProviderFault[] = ['refused', 'hang', '5xx', 'cut', 'malformed', 'slow']

/** A TCP forwarder in front of the mock: `shut()` refuses connections (and cuts open ones), `delayMs` slows every chunk back. */
export class Forwarder {
  readonly #targetPort: number
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined
  port = 0
  delayMs = 0

  private constructor (targetPort: number) {
    this.#targetPort = targetPort
  }

  static async start (targetPort: number): Promise<Forwarder> {
    const forwarder = new Forwarder(targetPort)
    await forwarder.open()
    return forwarder
  }

  get connections (): number { return this.#sockets.size }
  get listening (): boolean { return this.#server !== undefined }

  async open (): Promise<void> {
    if (this.#server !== undefined) return
    const server = createServer(client => {
      const upstream = createConnection(this.#targetPort, '127.0.0.1')
      this.#sockets.add(client)
      client.once('close', () => { this.#sockets.delete(client); upstream.destroy() })
      upstream.once('close', () => { client.destroy() })
      client.on('error', () => {})
      upstream.on('error', () => {})
      client.pipe(upstream)
      // Answers back through a chain that waits `delayMs` before each chunk while slowed (order kept).
      let chain = Promise.resolve()
      upstream.on('data', (chunk: Buffer) => {
        const delay = this.delayMs
        if (delay === 0) {
          chain = chain.then(() => { if (!client.destroyed) client.write(chunk) })
          return
        }
        upstream.pause()
        chain = chain.then(async () => {
          await new Promise(resolve => setTimeout(resolve, delay))
          if (!client.destroyed) client.write(chunk)
          upstream.resume()
        })
      })
      upstream.on('end', () => { void chain.then(() => { client.end() }) })
    })
    await new Promise<void>(resolve => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as AddressInfo).port
    this.#server = server
  }

  async shut (): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    if (server !== undefined) await new Promise<void>(resolve => server.close(() => { resolve() }))
  }
}

const ROUTES: Record<Role, MockRoute> = { stt: 'transcriptions', llm: 'chat', tts: 'speech' }
const SERVER_ERROR: MockAction = { type: 'error', status: 503 }

/** What each scripted fault sends, per role. */
function script (role: Role, fault: Exclude<ProviderFault, 'refused' | 'slow'>): MockAction[] {
  switch (fault) {
    case 'hang': return [{ type: 'hang' }]
    case '5xx': return [SERVER_ERROR, SERVER_ERROR]
    case 'cut':
      if (role === 'llm') return [{ type: 'chat', content: 'This answer is cut short. It never ends.', disconnectAfterChunks: 3 }]
      if (role === 'tts') return [{ type: 'speech', disconnectAfterChunks: 1 }]
      return [{ type: 'raw', status: 200, contentType: 'application/json', body: '{"text": "half' }]
    case 'malformed':
      if (role === 'llm') return [{ type: 'raw', status: 200, contentType: 'text/event-stream', body: 'data: {"choices": [{"delta": {"content": "Hi\n\n' }]
      if (role === 'tts') return [{ type: 'raw', status: 200, contentType: 'application/json', body: '{"error":{"message":"quota exceeded"}}' }]
      return [{ type: 'raw', status: 200, contentType: 'text/html', body: '<html><body>502 Bad Gateway</body></html>' }]
  }
}

export class ChaosProviders {
  readonly mock: OpenAIMock
  readonly forwarders: Record<Role, Forwarder>
  readonly #timers = new Set<NodeJS.Timeout>()

  private constructor (mock: OpenAIMock, forwarders: Record<Role, Forwarder>) {
    this.mock = mock
    this.forwarders = forwarders
  }

  static async start (): Promise<ChaosProviders> {
    const mock = await startOpenAIMock({ chunkDelayMs: 5 })
    const port = Number(new URL(mock.baseURL).port)
    const forwarders = { stt: await Forwarder.start(port), llm: await Forwarder.start(port), tts: await Forwarder.start(port) }
    return new ChaosProviders(mock, forwarders)
  }

  baseURL (role: Role): string { return `http://127.0.0.1:${this.forwarders[role].port}/v1` }

  /** Injects `fault` on `role`; refused and slow last `windowMs`. */
  inject (role: Role, fault: ProviderFault, windowMs: number, slowDelayMs = 400): void {
    const forwarder = this.forwarders[role]
    if (fault === 'refused') {
      void forwarder.shut()
      this.#later(windowMs, () => { void forwarder.open() })
    } else if (fault === 'slow') {
      forwarder.delayMs = slowDelayMs
      this.#later(windowMs, () => { forwarder.delayMs = 0 })
    } else {
      this.mock.script(ROUTES[role], ...script(role, fault))
    }
  }

  async close (): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    for (const forwarder of Object.values(this.forwarders)) await forwarder.shut()
    await this.mock.close()
  }

  #later (ms: number, fn: () => void): void {
    const timer = setTimeout(() => { this.#timers.delete(timer); fn() }, ms)
    this.#timers.add(timer)
  }
}
