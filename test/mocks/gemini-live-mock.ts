import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocketServer, type WebSocket } from 'ws'

/*
 * A loopback mock of the Gemini Live API (`BidiGenerateContent` over WebSocket, the Gemini Developer API's
 * JSON protocol) for the real SDK (`ai.live.connect`, which dials `ws:` for an `http:` base URL). It checks
 * the `key` query parameter, answers `setup` with `setupComplete`; runs a crude energy activity detection on
 * the 16 kHz `realtimeInput.audio` (input transcription chunks when the speech ends, then a model turn), or
 * takes `activityStart` / `activityEnd` when the client marks the turns; answers `clientContent` with
 * `turnComplete: true`; streams scripted model turns (`modelTurn` inline 24 kHz PCM, `outputTranscription`
 * chunks, `generationComplete`, `turnComplete` with `usageMetadata`, a `sessionResumptionUpdate` after each
 * turn when resumption is on), `toolCall`s that wait for the `toolResponse`, and `interrupted` (plus
 * `toolCallCancellation` for calls still unanswered) when the user speaks over the model. Every client
 * message is recorded (audio is counted, not kept).
 */

export interface MockLiveTurn {
  /** What the model "says" (outputTranscription chunks). Default 'Hello from the live mock.' */
  transcript?: string
  /** Milliseconds of 24 kHz audio (a 440 Hz tone; default 1000). */
  audioMs?: number
  /** A function call: the next scripted turn is spoken once the client answered it. */
  toolCall?: { name: string, args: Record<string, unknown> }
  /** usageMetadata with turnComplete (default: 100 in, 50 out, audio 80/40, cached 10). */
  usage?: Record<string, unknown>
}

export interface GeminiLiveMockOptions {
  /** Refuse handshakes whose `key` is not this with 401 (default: any key). */
  apiKey?: string
  /** Delay between audio chunks of 100 ms, in ms (default 5: far faster than real time, as the API is). */
  chunkDelayMs?: number
  /** Silence that ends the user's speech, in ms (default 400). */
  silenceMs?: number
  /** RMS above which a chunk is speech (default 600). */
  speechRms?: number
}

export type LiveClientMessage = Record<string, any>

export interface GeminiLiveMock {
  /** `http://127.0.0.1:PORT` (the SDK turns it into `ws://.../ws/google.ai.generativelanguage.v1beta...`). */
  baseURL: string
  /** Client messages received, in order, over every connection (`realtimeInput.audio` is counted, not kept). */
  received: LiveClientMessage[]
  /** Milliseconds of 16 kHz input audio received so far, and the MIME types it came with. */
  readonly appendedMs: number
  mimeTypes: Set<string>
  /** Handshakes seen (accepted or refused), with their URL. */
  handshakes: Array<{ url: string, accepted: boolean }>
  /** Appends model turns, used in order (an empty script gives the default turn). */
  script: (...turns: MockLiveTurn[]) => void
  /** Refuse the next handshakes with this HTTP status (0: accept again). */
  refuse: (status: number) => void
  /** Do not answer `setup` (a handshake that hangs). */
  holdSetup: (hold: boolean) => void
  /** Resolves with the `index`th received client message that has the key `kind` (`setup`, `clientContent`, ...). */
  waitFor: (kind: string, index?: number) => Promise<LiveClientMessage>
  readonly open: number
  /** Resolves when no socket is open. */
  allClosed: () => Promise<void>
  /** Sends a raw server message on every open socket. */
  broadcast: (message: Record<string, unknown>) => void
  /** Cuts every open socket (1011). */
  dropConnections: () => void
  close: () => Promise<void>
}

const INPUT_RATE_HZ = 16_000
const OUTPUT_RATE_HZ = 24_000
const PATH = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent'
const DEFAULT_USAGE = {
  promptTokenCount: 100,
  responseTokenCount: 50,
  totalTokenCount: 150,
  cachedContentTokenCount: 10,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 20 }, { modality: 'AUDIO', tokenCount: 80 }],
  responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 40 }, { modality: 'TEXT', tokenCount: 10 }]
}

export async function startGeminiLiveMock (options: GeminiLiveMockOptions = {}): Promise<GeminiLiveMock> {
  const chunkDelayMs = options.chunkDelayMs ?? 5
  const silenceMs = options.silenceMs ?? 400
  const speechRms = options.speechRms ?? 600
  const server: Server = createServer((_req, res) => { res.writeHead(404).end() })
  const wss = new WebSocketServer({ noServer: true })
  const received: LiveClientMessage[] = []
  const handshakes: GeminiLiveMock['handshakes'] = []
  const mimeTypes = new Set<string>()
  const scripted: MockLiveTurn[] = []
  const waiters: Array<() => void> = []
  const sockets = new Set<WebSocket>()
  let refuseStatus = 0
  let holdSetup = false
  let appendedMs = 0
  let ids = 0
  const notify = (): void => { for (const waiter of waiters.splice(0)) waiter() }

  server.on('upgrade', (request, socket, head) => {
    // The SDK joins `${base}/ws/...` to a base that ends with `/`: the path starts with `//`.
    const [pathname = '', query = ''] = (request.url ?? '').split('?')
    const path = pathname.replace(/^\/+/, '/')
    const authorized = options.apiKey === undefined || new URLSearchParams(query).get('key') === options.apiKey
    const status = refuseStatus !== 0 ? refuseStatus : path !== PATH ? 404 : authorized ? 0 : 401
    handshakes.push({ url: request.url ?? '', accepted: status === 0 })
    if (status !== 0) {
      const body = JSON.stringify({ error: { code: status, message: `mock refused with ${status}`, status: status === 401 ? 'UNAUTHENTICATED' : 'UNAVAILABLE' } })
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`)
      return
    }
    wss.handleUpgrade(request, socket, head, (ws) => { serve(ws) })
  })

  function serve (ws: WebSocket): void {
    sockets.add(ws)
    ws.on('close', () => { sockets.delete(ws); notify() })
    const send = (message: Record<string, unknown>): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message))
    }
    let resumable = false
    let handles = 0
    // Activity detection state.
    let speaking = false
    let speechStartMs = 0
    let silentMs = 0
    let voicedRun = 0
    let manual = false
    // The model turn in progress, interrupted by speech; calls it waits on.
    let active: { cancelled: boolean, calls: string[] } | undefined

    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as LiveClientMessage
      const audio = message.realtimeInput?.audio
      if (audio !== undefined) {
        mimeTypes.add(String(audio.mimeType))
        onAudio(Buffer.from(String(audio.data), 'base64'))
        return
      }
      received.push(message)
      notify()
      if (message.setup !== undefined) {
        resumable = message.setup.sessionResumption !== undefined
        manual = message.setup.realtimeInputConfig?.automaticActivityDetection?.disabled === true
        if (!holdSetup) send({ setupComplete: {} })
      } else if (message.clientContent !== undefined) {
        if (message.clientContent.turnComplete === true && active === undefined) void respond()
      } else if (message.toolResponse !== undefined) {
        if (active !== undefined) {
          for (const response of message.toolResponse.functionResponses ?? []) active.calls = active.calls.filter(id => id !== response.id)
          if (active.calls.length === 0) void speakOn(active)
        }
      } else if (message.realtimeInput?.activityStart !== undefined) {
        speaking = true
        speechStartMs = appendedMs
        interrupt()
      } else if (message.realtimeInput?.activityEnd !== undefined) {
        speaking = false
        endOfSpeech(appendedMs - speechStartMs)
      }
    })

    function onAudio (pcm: Buffer): void {
      const samples = pcm.length >> 1
      const ms = samples * 1000 / INPUT_RATE_HZ
      appendedMs += ms
      if (manual) return
      let sum = 0
      for (let i = 0; i < samples; i++) { const s = pcm.readInt16LE(i * 2); sum += s * s }
      const rms = Math.sqrt(sum / Math.max(1, samples))
      voicedRun = rms > speechRms ? voicedRun + ms : 0
      if (rms > speechRms && (speaking || voicedRun >= 30)) {
        silentMs = 0
        if (!speaking) {
          speaking = true
          speechStartMs = appendedMs - voicedRun
          interrupt()
        }
      } else if (speaking) {
        silentMs += ms
        if (silentMs >= silenceMs) {
          speaking = false
          endOfSpeech(appendedMs - silentMs - speechStartMs)
        }
      }
    }

    function interrupt (): void {
      if (active === undefined) return
      active.cancelled = true
      send({ serverContent: { interrupted: true } })
      if (active.calls.length > 0) send({ toolCallCancellation: { ids: active.calls } })
      active = undefined
    }

    function endOfSpeech (heardMs: number): void {
      send({ serverContent: { inputTranscription: { text: 'I heard' } } })
      send({ serverContent: { inputTranscription: { text: ` ${(heardMs / 1000).toFixed(1)} seconds of speech` } } })
      if (active === undefined) void respond()
    }

    async function respond (): Promise<void> {
      const turn = { cancelled: false, calls: [] as string[] }
      active = turn
      await speakOn(turn)
    }

    /** Speaks the next scripted turn in `turn` (a tool call waits for its response, then goes on). */
    async function speakOn (turn: { cancelled: boolean, calls: string[] }): Promise<void> {
      const script = scripted.shift() ?? {}
      if (script.toolCall !== undefined) {
        const id = `function-call-${++ids}`
        turn.calls.push(id)
        send({ toolCall: { functionCalls: [{ id, name: script.toolCall.name, args: script.toolCall.args }] } })
        return
      }
      const words = (script.transcript ?? 'Hello from the live mock.').split(' ')
      const chunks = Math.max(1, Math.ceil((script.audioMs ?? 1000) / 100))
      let sent = 0
      for (let chunk = 0; chunk < chunks; chunk++) {
        await sleep(chunkDelayMs)
        if (turn.cancelled || ws.readyState !== ws.OPEN) return
        send({ serverContent: { modelTurn: { role: 'model', parts: [{ inlineData: { mimeType: `audio/pcm;rate=${OUTPUT_RATE_HZ}`, data: tone(chunk * 100, 100).toString('base64') } }] } } })
        const upTo = Math.ceil(words.length * (chunk + 1) / chunks)
        if (upTo > sent) {
          send({ serverContent: { outputTranscription: { text: (sent > 0 ? ' ' : '') + words.slice(sent, upTo).join(' ') } } })
          sent = upTo
        }
      }
      if (turn.cancelled) return
      send({ serverContent: { generationComplete: true } })
      if (active === turn) active = undefined
      send({ serverContent: { turnComplete: true }, usageMetadata: script.usage ?? DEFAULT_USAGE })
      if (resumable) send({ sessionResumptionUpdate: { newHandle: `mock-handle-${++handles}`, resumable: true } })
    }
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  const waitFor = async (kind: string, index = 0): Promise<LiveClientMessage> => {
    for (;;) {
      const found = received.filter(message => message[kind] !== undefined)[index]
      if (found !== undefined) return found
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }

  return {
    baseURL: `http://127.0.0.1:${port}`,
    received,
    get appendedMs () { return appendedMs },
    mimeTypes,
    handshakes,
    script: (...turns) => { scripted.push(...turns) },
    refuse: (status) => { refuseStatus = status },
    holdSetup: (hold) => { holdSetup = hold },
    waitFor,
    get open () { return sockets.size },
    allClosed: async () => { while (sockets.size > 0) await new Promise<void>(resolve => waiters.push(resolve)) },
    broadcast: (message) => { for (const ws of sockets) ws.send(JSON.stringify(message)) },
    dropConnections: () => { for (const ws of sockets) ws.close(1011, 'mock dropped the connection') },
    close: async () => {
      for (const ws of sockets) ws.terminate()
      wss.close()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

/** `ms` of a 440 Hz tone at 24 kHz, s16le, phase-continuous from `fromMs`. */
function tone (fromMs: number, ms: number): Buffer {
  const samples = ms * OUTPUT_RATE_HZ / 1000
  const start = fromMs * OUTPUT_RATE_HZ / 1000
  const out = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 440 * (start + i) / OUTPUT_RATE_HZ)), i * 2)
  return out
}
