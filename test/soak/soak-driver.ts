import Fastify, { type FastifyInstance } from 'fastify'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import llmrtc from '../../plugins/llmrtc/index.js'
import type { WebRTCTestClient } from '../helpers/webrtc-client.js'
import { connectOverNetwork, type RecordingSocket } from '../helpers/ws-client.js'
import { InstantLLM, InstantTTS, MarkedSTT, ResourceCounter, TURN_MESSAGES, eventually, inOrder, isCompleteTurn, markedUtterance, runHealthyTurn, sleep, type ResourceCounts } from '../faults/reliability-helpers.js'

/*
 * The soak run shared by test/soak/soak.test.ts (short) and bench/soak.ts (long): one app with
 * providers that answer at once, driven through many turns, socket connect/disconnect cycles and
 * WebRTC connect/close cycles, sampling what the process holds after each phase.
 */

/** Per-call deadlines: their AbortSignal.timeout timers outlive each call until they expire, so keep them short. */
const CALL_TIMEOUT_MS = 2000

/** The app under soak: listening on 127.0.0.1, sessions ended as soon as their client leaves. */
export async function soakApp (): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(llmrtc, {
    env: false,
    demoPage: false,
    providers: { stt: new MarkedSTT(), llm: new InstantLLM(), tts: new InstantTTS() },
    reconnectGraceMs: 0,
    // A session whose client left still counts until the next expiry sweep (every 5 s): churn needs room.
    maxSessions: 10_000,
    sttTimeoutMs: CALL_TIMEOUT_MS,
    llmTimeoutMs: CALL_TIMEOUT_MS,
    ttsTimeoutMs: CALL_TIMEOUT_MS,
    // One client (this process) opens every connection and sends every turn.
    maxMessagesPerSecond: 0,
    maxSessionsPerClient: 0,
    rateLimit: false
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

export function signalingUrl (app: FastifyInstance): string {
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening')
  return `ws://127.0.0.1:${address.port}${app.llmrtcConfig.path}`
}

/** `global.gc`, exposed at run time when the process was not started with --expose-gc. */
export function exposeGc (): () => void {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing !== undefined) return existing
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

/** Heap in use after full collections, in bytes. */
export async function heapAfterGc (gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await sleep(20)
  }
  return process.memoryUsage().heapUsed
}

export interface SoakPlan {
  /** Turns on one long-lived session. */
  longSessionTurns: number
  /** Connect / turns / disconnect cycles over real sockets. */
  socketCycles: number
  turnsPerCycle: number
  /** WebRTC connect / close cycles (every other one adds a microphone and runs a turn). */
  webrtcCycles: number
}

export interface SoakSample {
  phase: string
  turns: number
  sessions: number
  pipelines: number
  peers: number
  connections: number
  heapUsedBytes: number
  resources: ResourceCounts
}

export interface SoakDriver {
  readonly samples: SoakSample[]
  /** Turns that did not complete (each should). */
  readonly failedTurns: string[]
  /** Runs the plan's phases; `label` prefixes the samples. */
  run: (plan: SoakPlan, label?: string) => Promise<void>
  /** Waits until every client is gone and every session ended; returns the sample then. */
  drain: (phase: string) => Promise<SoakSample>
}

/** A driver for `app`; `WebRTCClient` is the test helper's class (the bench loads it without tap). */
export function soakDriver (app: FastifyInstance, WebRTCClient: typeof WebRTCTestClient | undefined, counter: ResourceCounter, gc: () => void): SoakDriver {
  const url = signalingUrl(app)
  const samples: SoakSample[] = []
  const failedTurns: string[] = []
  let turns = 0

  async function open (): Promise<RecordingSocket> {
    const client = await connectOverNetwork(app)
    await eventually(() => client.messages.length > 0, 'the first message', 15_000)
    if (client.messages[0]?.type !== 'ready') throw new Error(`connection refused: ${JSON.stringify(client.messages[0])}`)
    return client
  }

  async function turn (client: RecordingSocket, where: string): Promise<void> {
    const types = await runHealthyTurn(client)
    turns++
    if (!isCompleteTurn(types)) failedTurns.push(`${where}: ${types.join(' ')}`)
  }

  async function sample (phase: string): Promise<SoakSample> {
    const s: SoakSample = {
      phase,
      turns,
      sessions: app.llmrtcSessions.size,
      pipelines: app.llmrtcPipeline.size,
      peers: app.hasDecorator('llmrtcTransport') ? app.llmrtcTransport.peerCount : 0,
      connections: app.llmrtcSignaling.connections().length,
      heapUsedBytes: await heapAfterGc(gc),
      resources: counter.counts()
    }
    samples.push(s)
    return s
  }

  async function drain (phase: string): Promise<SoakSample> {
    await eventually(() => app.llmrtcSignaling.connections().length === 0, 'every connection closed', 30_000)
    // Sessions whose client left end at the next expiry sweep (every 5 s): run it now.
    await eventually(() => { app.llmrtcSessions.sweep(); return app.llmrtcSessions.size === 0 }, 'every session ended', 30_000)
    await eventually(() => app.llmrtcPipeline.size === 0, 'every pipeline closed', 30_000)
    return await sample(phase)
  }

  async function run (plan: SoakPlan, label = ''): Promise<void> {
    const long = await open()
    for (let i = 0; i < plan.longSessionTurns; i++) await turn(long, `${label}long session, turn ${i + 1}`)
    long.ws.close()
    await long.closed
    await sample(`${label}${plan.longSessionTurns} turns on one session`)

    for (let cycle = 0; cycle < plan.socketCycles; cycle++) {
      const client = await open()
      for (let i = 0; i < plan.turnsPerCycle; i++) await turn(client, `${label}socket cycle ${cycle + 1}, turn ${i + 1}`)
      // Half leave with a close handshake, half just vanish (mid-turn, for good measure).
      if (cycle % 2 === 0) {
        client.ws.close()
      } else {
        client.send({ type: 'audio', data: markedUtterance().toString('base64') })
        client.ws.terminate()
      }
      await client.closed
    }
    await sample(`${label}${plan.socketCycles} socket cycles`)

    if (WebRTCClient !== undefined) {
      for (let cycle = 0; cycle < plan.webrtcCycles; cycle++) {
        const client = await WebRTCClient.connect(url, { timeoutMs: 15_000 })
        try {
          const from = client.wsMessages.length
          client.sendOnChannel({ type: 'ping', timestamp: cycle })
          await client.waitFor(m => m.type === 'pong' && m.timestamp === cycle, { from })
          if (cycle % 2 === 1) {
            await client.addMicrophone()
            const turnFrom = client.wsMessages.length
            client.send({ type: 'audio', data: markedUtterance().toString('base64') })
            await client.waitFor(m => m.type === 'tts-complete' || m.type === 'error', { from: turnFrom, timeoutMs: 15_000 })
            turns++
            // With the microphone's peer, the answer is spoken on the track: no tts-chunk messages.
            const types = client.wsMessages.slice(turnFrom).map(m => m.type)
            if (!inOrder(types, TURN_MESSAGES) || types.includes('error')) failedTurns.push(`${label}WebRTC cycle ${cycle + 1}: ${types.join(' ')}`)
          }
        } finally {
          await client.close()
        }
      }
      await sample(`${label}${plan.webrtcCycles} WebRTC cycles`)
    }
  }

  return { samples, failedTurns, run, drain }
}

/** The sample as one markdown table row. */
export function sampleRow (s: SoakSample): string {
  const resources = Object.entries(s.resources).filter(([, n]) => n > 0).map(([type, n]) => `${type} ${n}`).join(', ')
  return `| ${s.phase} | ${s.turns} | ${s.sessions} | ${s.pipelines} | ${s.peers} | ${s.connections} | ${(s.heapUsedBytes / 1048576).toFixed(1)} | ${resources} |`
}

export const SAMPLE_HEADER = '| after | turns | sessions | pipelines | peers | connections | heap MB (after gc) | live resources |\n|---|---|---|---|---|---|---|---|'
