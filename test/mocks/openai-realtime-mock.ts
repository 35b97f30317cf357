import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocketServer, type WebSocket } from 'ws'
import type { TestCertificate } from './tls.js'

/*
 * A loopback mock of the OpenAI Realtime WebSocket (GA event protocol) for the real SDK client
 * (`openai/realtime/ws`, which always dials `wss:`: served over TLS with a throwaway certificate).
 * It answers `session.update` with `session.updated`; runs a crude energy "server VAD" on the appended
 * 24 kHz PCM (speech_started / speech_stopped / committed / transcription completed, then a response, as
 * `create_response: true` does); streams scripted responses (audio deltas of a tone, transcript deltas,
 * function calls, `response.done` with usage); cancels the response in progress when speech starts
 * (`interrupt_response: true`); and records every client event.
 */

export interface MockRealtimeResponse {
  /** What the model "says" (sent as transcript deltas, word by word, then done). Default 'Hello from the realtime mock.' */
  transcript?: string
  /** Milliseconds of 24 kHz audio (a 440 Hz tone; default 1000). */
  audioMs?: number
  /** A function call instead of speech. */
  toolCall?: { name: string, arguments: string }
  /** response.done usage (default: 100 in, 50 out, audio 80/40, cached 10). */
  usage?: Record<string, unknown>
  /** Send the beta event names (`response.audio.delta`, `response.audio_transcript.*`). */
  betaNames?: boolean
}

export interface OpenAIRealtimeMockOptions {
  cert: TestCertificate
  /** Refuse handshakes without `Authorization: Bearer <apiKey>` with 401 (default: any key). */
  apiKey?: string
  /** Delay between audio chunks of 100 ms, in ms (default 5: far faster than real time, as the API is). */
  chunkDelayMs?: number
  /** Silence that ends the user's speech, in ms (default 400). */
  silenceMs?: number
  /** RMS above which a chunk is speech (default 600). */
  speechRms?: number
}

export interface OpenAIRealtimeMock {
  /** `https://127.0.0.1:PORT/v1` (the SDK turns it into `wss://.../v1/realtime?model=`). */
  baseURL: string
  /** Client events received, in order, over every connection (`input_audio_buffer.append` is counted, not kept). */
  received: Array<Record<string, unknown> & { type: string }>
  /** Milliseconds of input audio appended so far. */
  readonly appendedMs: number
  /** Handshakes seen (accepted or refused), with their URL and whether a socket was opened. */
  handshakes: Array<{ url: string, accepted: boolean }>
  /** Appends responses, used in order (an empty script gives the default response). */
  script: (...responses: MockRealtimeResponse[]) => void
  /** Refuse the next handshakes with this HTTP status (0: accept again). */
  refuse: (status: number) => void
  /** Resolves with the `index`th received client event of `type` once it arrived. */
  waitFor: (type: string, index?: number) => Promise<Record<string, unknown>>
  /** Number of open sockets. */
  readonly open: number
  /** Resolves when no socket is open. */
  allClosed: () => Promise<void>
  /** Sends a raw server event on every open socket. */
  broadcast: (event: Record<string, unknown>) => void
  /** Cuts every open socket (1011). */
  dropConnections: () => void
  /** Each accepted connection, in order: its client events (appends counted, not kept) and whether it is open. */
  connections: MockRealtimeConnection[]
  /** Resolves once `count` connections were accepted. */
  waitForConnections: (count: number) => Promise<void>
  /**
   * What OpenAI does at its session cap: an `error` event with code `session_expired`, then the close, on
   * every open socket.
   */
  expire: () => void
  /** Holds the next handshakes (accepted ones wait before the upgrade) until `release()`. */
  hold: () => void
  release: () => void
  close: () => Promise<void>
}

/** One accepted connection of the mock. */
export interface MockRealtimeConnection {
  received: Array<Record<string, unknown> & { type: string }>
  appendedMs: number
  open: boolean
}

const RATE_HZ = 24_000
const DEFAULT_USAGE = {
  total_tokens: 150,
  input_tokens: 100,
  output_tokens: 50,
  input_token_details: { text_tokens: 20, audio_tokens: 80, cached_tokens: 10 },
  output_token_details: { text_tokens: 10, audio_tokens: 40 }
}

export async function startOpenAIRealtimeMock (options: OpenAIRealtimeMockOptions): Promise<OpenAIRealtimeMock> {
  const chunkDelayMs = options.chunkDelayMs ?? 5
  const silenceMs = options.silenceMs ?? 400
  const speechRms = options.speechRms ?? 600
  const server: Server = createServer({ cert: options.cert.cert, key: options.cert.key })
  const wss = new WebSocketServer({ noServer: true })
  const received: OpenAIRealtimeMock['received'] = []
  const handshakes: OpenAIRealtimeMock['handshakes'] = []
  const scripted: MockRealtimeResponse[] = []
  const waiters: Array<() => void> = []
  const sockets = new Set<WebSocket>()
  let refuseStatus = 0
  const connections: MockRealtimeConnection[] = []
  let held: Array<{ upgrade: () => void, socket: Duplex }> | undefined
  let appendedMs = 0
  let ids = 0
  const id = (prefix: string): string => `${prefix}_${++ids}`
  const notify = (): void => { for (const waiter of waiters.splice(0)) waiter() }

  server.on('upgrade', (request, socket, head) => {
    const url = request.url ?? ''
    const authorized = options.apiKey === undefined || request.headers.authorization === `Bearer ${options.apiKey}`
    const status = refuseStatus !== 0 ? refuseStatus : !url.startsWith('/v1/realtime') ? 404 : authorized ? 0 : 401
    handshakes.push({ url, accepted: status === 0 })
    if (status !== 0) {
      const body = JSON.stringify({ error: { message: `mock refused with ${status}`, type: 'invalid_request_error', code: null } })
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`)
      return
    }
    const upgrade = (): void => { wss.handleUpgrade(request, socket, head, (ws) => { serve(ws) }) }
    if (held !== undefined) held.push({ upgrade, socket })
    else upgrade()
  })

  function serve (ws: WebSocket): void {
    sockets.add(ws)
    const connection: MockRealtimeConnection = { received: [], appendedMs: 0, open: true }
    connections.push(connection)
    notify()
    ws.on('close', () => { sockets.delete(ws); connection.open = false; notify() })
    const send = (event: Record<string, unknown>): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event_id: id('event'), ...event }))
    }
    let session: Record<string, unknown> = { type: 'realtime', id: id('sess') }
    send({ type: 'session.created', session })
    // Server VAD state.
    let speaking = false
    let speechItem = ''
    let speechStartMs = 0
    let silentMs = 0
    let voicedRun = 0
    /** Audio appended since the last commit, in ms. */
    let uncommittedMs = 0
    // The response in progress (its id), cancelled by speech.
    let active: { id: string, cancelled: boolean } | undefined

    ws.on('message', (data) => {
      const event = JSON.parse(data.toString()) as Record<string, unknown> & { type: string }
      if (event.type === 'input_audio_buffer.append') {
        const pcm = Buffer.from(String(event.audio), 'base64')
        connection.appendedMs += (pcm.length >> 1) * 1000 / RATE_HZ
        onAudio(pcm)
        return
      }
      received.push(event)
      connection.received.push(event)
      notify()
      switch (event.type) {
        case 'session.update':
          session = { ...session, ...(event.session as object) }
          send({ type: 'session.updated', session })
          break
        case 'conversation.item.truncate':
          send({ type: 'conversation.item.truncated', item_id: event.item_id, content_index: event.content_index, audio_end_ms: event.audio_end_ms })
          break
        case 'conversation.item.create':
          send({ type: 'conversation.item.added', item: { id: id('item'), ...(event.item as object) } })
          break
        case 'response.create':
          if (active !== undefined) send({ type: 'error', error: { type: 'invalid_request_error', code: 'conversation_already_has_active_response', message: 'Conversation already has an active response in progress' } })
          else void respond()
          break
        case 'response.cancel':
          if (active !== undefined) active.cancelled = true
          break
        case 'input_audio_buffer.commit': {
          // Turn detection off (`turn_detection: null`): the client commits each utterance.
          const itemId = id('item')
          const heardMs = Math.round(uncommittedMs)
          uncommittedMs = 0
          send({ type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: null })
          send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript: `I heard ${(heardMs / 1000).toFixed(1)} seconds of speech` })
          break
        }
      }
    })

    function onAudio (pcm: Buffer): void {
      const samples = pcm.length >> 1
      const ms = samples * 1000 / RATE_HZ
      let sum = 0
      for (let i = 0; i < samples; i++) { const s = pcm.readInt16LE(i * 2); sum += s * s }
      const rms = Math.sqrt(sum / Math.max(1, samples))
      appendedMs += ms
      uncommittedMs += ms
      const input = (session.audio as { input?: { turn_detection?: unknown } } | undefined)?.input
      if (input?.turn_detection === null) return
      voicedRun = rms > speechRms ? voicedRun + ms : 0
      // Speech starts after 30 ms voiced in a row (a click or a concealed packet is not speech).
      if (rms > speechRms && (speaking || voicedRun >= 30)) {
        silentMs = 0
        if (!speaking) {
          speaking = true
          speechItem = id('item')
          speechStartMs = appendedMs - voicedRun
          send({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.round(speechStartMs), item_id: speechItem })
          if (active !== undefined) active.cancelled = true
        }
      } else if (speaking) {
        silentMs += ms
        if (silentMs >= silenceMs) {
          speaking = false
          const heardMs = Math.round(appendedMs - silentMs - speechStartMs)
          send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: Math.round(appendedMs - silentMs), item_id: speechItem })
          send({ type: 'input_audio_buffer.committed', item_id: speechItem, previous_item_id: null })
          send({ type: 'conversation.item.input_audio_transcription.completed', item_id: speechItem, content_index: 0, transcript: `I heard ${(heardMs / 1000).toFixed(1)} seconds of speech` })
          if (active === undefined) void respond()
        }
      }
    }

    async function respond (): Promise<void> {
      const script = scripted.shift() ?? {}
      const responseId = id('resp')
      const itemId = id('item')
      const response = { id: responseId, cancelled: false }
      active = response
      send({ type: 'response.created', response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] } })
      const usage = script.usage ?? DEFAULT_USAGE
      const done = (status: string, output: unknown[]): void => {
        if (active === response) active = undefined
        send({ type: 'response.done', response: { id: responseId, object: 'realtime.response', status, output, usage } })
      }
      if (script.toolCall !== undefined) {
        const callId = id('call')
        const item = { id: itemId, type: 'function_call', status: 'completed', call_id: callId, name: script.toolCall.name, arguments: script.toolCall.arguments }
        send({ type: 'response.output_item.added', response_id: responseId, output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } })
        send({ type: 'response.function_call_arguments.delta', response_id: responseId, item_id: itemId, output_index: 0, call_id: callId, delta: script.toolCall.arguments })
        send({ type: 'response.function_call_arguments.done', response_id: responseId, item_id: itemId, output_index: 0, call_id: callId, name: script.toolCall.name, arguments: script.toolCall.arguments })
        send({ type: 'response.output_item.done', response_id: responseId, output_index: 0, item })
        done('completed', [item])
        return
      }
      const transcript = script.transcript ?? 'Hello from the realtime mock.'
      const audioName = script.betaNames === true ? 'response.audio' : 'response.output_audio'
      const transcriptName = script.betaNames === true ? 'response.audio_transcript' : 'response.output_audio_transcript'
      const where = { response_id: responseId, item_id: itemId, output_index: 0, content_index: 0 }
      send({ type: 'response.output_item.added', response_id: responseId, output_index: 0, item: { id: itemId, type: 'message', role: 'assistant', status: 'in_progress', content: [] } })
      send({ type: 'response.content_part.added', ...where, part: { type: 'audio', transcript: '' } })
      const words = transcript.split(' ')
      const chunks = Math.max(1, Math.ceil((script.audioMs ?? 1000) / 100))
      let sent = 0
      for (let chunk = 0; chunk < chunks; chunk++) {
        await sleep(chunkDelayMs)
        if (response.cancelled || ws.readyState !== ws.OPEN) break
        send({ type: `${audioName}.delta`, ...where, delta: tone(chunk * 100, 100).toString('base64') })
        const upTo = Math.ceil(words.length * (chunk + 1) / chunks)
        if (upTo > sent) {
          send({ type: `${transcriptName}.delta`, ...where, delta: (sent > 0 ? ' ' : '') + words.slice(sent, upTo).join(' ') })
          sent = upTo
        }
      }
      if (response.cancelled) {
        done('cancelled', [{ id: itemId, type: 'message', role: 'assistant', status: 'incomplete', content: [] }])
        return
      }
      send({ type: `${audioName}.done`, ...where })
      send({ type: `${transcriptName}.done`, ...where, transcript })
      send({ type: 'response.content_part.done', ...where, part: { type: 'audio', transcript } })
      const item = { id: itemId, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_audio', transcript }] }
      send({ type: 'response.output_item.done', response_id: responseId, output_index: 0, item })
      done('completed', [item])
    }
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  const waitFor = async (type: string, index = 0): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = received.filter(event => event.type === type)[index]
      if (found !== undefined) return found
      await new Promise<void>(resolve => waiters.push(resolve))
    }
  }

  return {
    baseURL: `https://127.0.0.1:${port}/v1`,
    received,
    get appendedMs () { return appendedMs },
    handshakes,
    script: (...responses) => { scripted.push(...responses) },
    refuse: (status) => { refuseStatus = status },
    waitFor,
    get open () { return sockets.size },
    allClosed: async () => { while (sockets.size > 0) await new Promise<void>(resolve => waiters.push(resolve)) },
    broadcast: (event) => { for (const ws of sockets) ws.send(JSON.stringify(event)) },
    dropConnections: () => { for (const ws of sockets) ws.close(1011, 'mock dropped the connection') },
    connections,
    waitForConnections: async (count) => { while (connections.length < count) await new Promise<void>(resolve => waiters.push(resolve)) },
    expire: () => {
      for (const ws of sockets) {
        ws.send(JSON.stringify({ type: 'error', event_id: id('event'), error: { type: 'invalid_request_error', code: 'session_expired', message: 'Your session hit the maximum duration of 60 minutes.', param: null, event_id: null } }))
        ws.close(1000, 'session expired')
      }
    },
    hold: () => { held ??= [] },
    release: () => {
      const waiting = held ?? []
      held = undefined
      for (const { upgrade } of waiting) upgrade()
    },
    close: async () => {
      for (const { socket } of held ?? []) socket.destroy()
      for (const ws of sockets) ws.terminate()
      wss.close()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

/** `ms` of a 440 Hz tone at 24 kHz, s16le, phase-continuous from `fromMs`. */
function tone (fromMs: number, ms: number): Buffer {
  const samples = ms * RATE_HZ / 1000
  const start = fromMs * RATE_HZ / 1000
  const out = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 440 * (start + i) / RATE_HZ)), i * 2)
  return out
}
