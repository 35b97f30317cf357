/**
 * The chaos run itself (bench/chaos.ts is its command line; test/chaos runs it short): servers, mock
 * providers, callers, the seeded schedule of injections, the invariants, phases and the summary.
 *
 * A phase connects every caller, runs the schedule until the phase's end, lets each caller's last turn
 * end and closes it cleanly; then each session's saved history must equal what its caller heard, and
 * once the reconnect grace is over every server must be back to its baseline (no session, peer or
 * connection; live resources and the heap after collections as after its first phase). Meanwhile every
 * turn must end in exactly one way, no session may be lost, no audio may follow `tts-cancelled`, no server
 * may exit unasked, and each server's event-loop p99 (per 10 s window, outside a drain and its start)
 * must stay under the bound. The first broken invariant stops the run.
 */
import { loadavg } from 'node:os'
import type { Test } from 'tap'
import { startRedis, type RunningRedis } from '../../test/helpers/redis-server.js'
import { synthesizeSpeech, trimSilence } from '../../test/helpers/speech.js'
import { ChaosClient, type ClientInjection } from './chaos-client.js'
import { MicrophoneClock } from '../webrtc-test-client.js'
import type { ServerStats } from './chaos-server.js'
import { expectedHistory, matchHistory, resourceExcess, type TurnEnd } from './invariants.js'
import { ChaosProviders, type ProviderFault } from './provider-faults.js'
import { Random, WEIGHTS, schedule, type InjectionKind } from './schedule.js'
import { ServerProcess, type ServerConfig } from './servers.js'
import { Trail } from './trail.js'

export interface ChaosOptions {
  minutes: number
  sessions: number
  seed: number
  /** Server processes sharing Redis (2: drains possible). */
  servers: number
  phaseMinutes: number
  /** Injections per minute, over all sessions. */
  perMinute: number
  reconnectGraceMs: number
  providerTimeoutMs: number
  /** Event-loop p99 bound per server, ms. */
  loopP99Ms: number
  /** Heap after collections at a phase's end: at most this much above the server's baseline, MB. */
  heapSlackMB: number
  /** Only these kinds (default: all). */
  kinds?: InjectionKind[]
  log: (line: string) => void
}

export interface MemorySample { atMinutes: number, servers: Array<{ pid: number, rssMB: number, heapMB: number }>, benchRssMB: number, load1: number }

export interface ChaosSummary {
  seed: number
  options: Omit<ChaosOptions, 'log'>
  minutes: number
  phases: number
  sessions: number
  turns: number
  ends: Record<TurnEnd, number>
  errorCodes: Record<string, number>
  injections: Partial<Record<InjectionKind, number>>
  injectionsTotal: number
  /** Injections aimed at a caller that found no moment before its phase ended. */
  skipped: number
  invariantChecks: number
  utterances: number
  unheard: number
  reconnects: number
  /** Sessions with nothing said yet when their server was killed (never saved): they went on as new ones. */
  unsavedAfterKill: number
  serversStarted: number
  loopP99MaxMs: number
  micStalls: number
  /** The most audio heard after one `tts-cancelled`, ms (what the receiver's buffer held). */
  maxAudioAfterCancelMs: number
  memory: MemorySample[]
  violation?: string
  trail?: string[]
}

const PHRASES = [
  'Hello there, what time is it right now?',
  'Can you tell me the weather for tomorrow?',
  'Please remind me to call my sister.',
  'How far is the moon from the earth?'
]
const PROVIDER_KINDS: Record<string, ProviderFault> = {
  'provider-refused': 'refused',
  'provider-hang': 'hang',
  'provider-5xx': '5xx',
  'provider-cut': 'cut',
  'provider-malformed': 'malformed',
  'provider-slow': 'slow'
}
const CLIENT_KINDS = new Set<string>(['drop', 'ice-restart', 'barge-in', 'cough', 'flood'])
const RESOURCE_TOLERANCE = { default: 3, 'Timer (any)': 8, ProcessWrap: 0 }
const MB = 1024 * 1024

export async function runChaos (o: ChaosOptions): Promise<ChaosSummary> {
  const trail = new Trail()
  const root = new Random(o.seed)
  const scheduleRandom = root.derive(1)
  const started = performance.now()
  const minutesNow = (): number => (performance.now() - started) / 60_000
  const summary: ChaosSummary = {
    seed: o.seed,
    options: { ...o, log: undefined } as unknown as Omit<ChaosOptions, 'log'>,
    minutes: 0,
    phases: 0,
    sessions: 0,
    turns: 0,
    ends: { completed: 0, cancelled: 0, error: 0, dropped: 0 },
    errorCodes: {},
    injections: {},
    injectionsTotal: 0,
    skipped: 0,
    invariantChecks: 0,
    utterances: 0,
    unheard: 0,
    reconnects: 0,
    unsavedAfterKill: 0,
    serversStarted: 0,
    loopP99MaxMs: 0,
    micStalls: 0,
    maxAudioAfterCancelMs: 0,
    memory: []
  }
  const state = { stopping: false }
  const fail = (what: string): void => {
    if (summary.violation !== undefined) return
    summary.violation = what
    // What the servers said (warnings and errors) goes with the trail: about the session concerned, and lately.
    const sessionId = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(what)?.[0]
    for (const server of servers) {
      const about = sessionId === undefined ? [] : server.logs.filter(line => line.includes(sessionId)).slice(-40)
      for (const line of [...about, ...server.logs.slice(-5)]) trail.add(-1, `server ${server.pid} log: ${line.trim()}`)
    }
    trail.add(-1, `VIOLATION: ${what}`)
    o.log(`VIOLATION: ${what}`)
    state.stopping = true
  }
  const count = (kind: InjectionKind): void => {
    summary.injections[kind] = (summary.injections[kind] ?? 0) + 1
    summary.injectionsTotal++
  }

  const cleanups: Array<() => unknown> = []
  const fakeTest = { teardown: (fn: () => unknown) => { cleanups.push(fn) } } as unknown as Test
  let redis: RunningRedis | undefined
  let providers: ChaosProviders | undefined
  const servers: ServerProcess[] = []
  const live = (): ServerProcess[] => servers.filter(s => s.alive && !s.draining)
  const startedAt = new Map<ServerProcess, number>()
  const baselines = new Map<number, ServerStats>()
  let draining = false
  /** URLs of servers the bench killed: their clients' connections end without a close code. */
  const killed = new Set<string>()
  let drainEndedAt = 0
  const clock = new MicrophoneClock<ChaosClient>()
  let clients: ChaosClient[] = []
  let sampler: NodeJS.Timeout | undefined

  const addServer = async (config: ServerConfig): Promise<ServerProcess> => {
    const server = await ServerProcess.start(config)
    server.onViolation = (text) => { if (!state.stopping) fail(`server ${server.pid}: ${text}`) }
    servers.push(server)
    startedAt.set(server, performance.now())
    summary.serversStarted++
    trail.add(-1, `server ${server.pid} listening on ${server.port}`)
    void server.exited.then(({ code, signal }) => {
      trail.add(-1, `server ${server.pid} exited (${code ?? signal})`)
      if (state.stopping) return
      if (!server.draining) fail(`server ${server.pid} exited unasked (${code ?? signal}); its last error logs: ${server.logs.slice(-3).join(' / ')}`)
      else if (code !== 0 && !killed.has(server.url)) fail(`server ${server.pid} crashed while draining (${code ?? signal})`)
    })
    return server
  }

  try {
    redis = await startRedis(fakeTest)
    providers = await ChaosProviders.start()
    const config: ServerConfig = {
      stt: providers.baseURL('stt'),
      llm: providers.baseURL('llm'),
      tts: providers.baseURL('tts'),
      redisUrl: redis.url,
      reconnectGraceMs: o.reconnectGraceMs,
      providerTimeoutMs: o.providerTimeoutMs
    }
    for (let i = 0; i < o.servers; i++) await addServer(config)
    const phrases = await Promise.all(PHRASES.map(async p => await synthesizeSpeech(p, 48_000)))
    // A cough: the first 180 ms of a voiced sound, alone.
    const cough = trimSilence(await synthesizeSpeech('ahem', 48_000)).slice(0, 48 * 180)
    clock.start()

    let lastMemoryAt = -Infinity
    const sample = async (): Promise<void> => {
      const stats = await Promise.all(live().map(async s => ({ s, stats: await s.stats().catch(() => undefined) })))
      const now = performance.now()
      for (const { s, stats: st } of stats) {
        if (st === undefined) continue
        const steady = now - (startedAt.get(s) ?? 0) > 30_000 && !draining && now - drainEndedAt > 15_000
        if (steady) {
          summary.loopP99MaxMs = Math.max(summary.loopP99MaxMs, st.loopP99Ms)
          summary.invariantChecks++
          if (st.loopP99Ms > o.loopP99Ms) fail(`server ${st.pid}: event-loop p99 ${st.loopP99Ms.toFixed(0)} ms over 10 s, bound ${o.loopP99Ms} ms (max ${st.loopMaxMs.toFixed(0)} ms)`)
        }
      }
      const every = o.minutes <= 5 ? 0.25 : 1
      if (minutesNow() - lastMemoryAt >= every) {
        lastMemoryAt = minutesNow()
        summary.memory.push({
          atMinutes: Number(minutesNow().toFixed(2)),
          servers: stats.filter(x => x.stats !== undefined).map(({ stats: st }) => ({ pid: st?.pid ?? 0, rssMB: round((st?.rssBytes ?? 0) / MB), heapMB: round((st?.heapUsedBytes ?? 0) / MB) })),
          benchRssMB: round(process.memoryUsage.rss() / MB),
          load1: round(loadavg()[0] ?? 0)
        })
      }
    }
    sampler = setInterval(() => { void sample() }, 10_000)

    // A drain (the server's own stop) or a SIGKILL (its clients' sockets just end; a turn it had open
    // is answered by the server they resume on), then a fresh server in its place.
    const replace = async (target: number, how: 'drain-restart' | 'kill-restart'): Promise<void> => {
      // One at a time: a second waits for the first's replacement.
      await sleepUntil(performance.now() + 120_000, () => !draining || state.stopping)
      const candidates = live()
      if (draining || candidates.length < 2 || state.stopping) return
      draining = true
      const server = candidates[target % candidates.length] as ServerProcess
      trail.add(-1, `${how === 'drain-restart' ? 'drain' : 'SIGKILL'} server ${server.pid}`)
      count(how)
      if (how === 'kill-restart') killed.add(server.url)
      const { code, signal } = how === 'drain-restart' ? await server.drain() : await server.killNow()
      trail.add(-1, `server ${server.pid} gone (${code ?? signal})`)
      if (!state.stopping) await addServer(config)
      draining = false
      drainEndedAt = performance.now()
    }

    // The minutes of chaos count from here, after the start-up (servers, speech synthesis).
    const end = performance.now() + o.minutes * 60_000
    const kinds = (o.kinds ?? Object.keys(WEIGHTS) as InjectionKind[]).filter(k => (k !== 'drain-restart' && k !== 'kill-restart') || o.servers >= 2)
    const injections = schedule(scheduleRandom, kinds, o.sessions, o.perMinute)
    let clientIndex = 0
    let tallied: ChaosClient[] = []
    while (!state.stopping && performance.now() < end - 20_000) {
      summary.phases++
      const phaseEnd = Math.min(end, performance.now() + o.phaseMinutes * 60_000)
      trail.add(-1, `phase ${summary.phases}: ${o.sessions} sessions`)
      o.log(`phase ${summary.phases}: connecting ${o.sessions} sessions (${minutesNow().toFixed(1)} min)`)
      clients = []
      for (let i = 0; i < o.sessions && !state.stopping; i++) {
        const client = new ChaosClient({
          index: clientIndex++,
          phrases,
          cough,
          random: root.derive(1000 + clientIndex),
          trail,
          servers: () => live().map(s => s.url),
          killed: (url: string) => killed.has(url),
          turnDeadlineMs: o.providerTimeoutMs * 3 + 15_000,
          onViolation: fail,
          injected: (kind: ClientInjection) => { count(kind) }
        })
        clients.push(client)
        clock.clients.add(client)
        await client.start()
        summary.sessions++
      }
      // The schedule, until shortly before the phase ends (the last injections need time to happen).
      while (!state.stopping && performance.now() < phaseEnd - 15_000) {
        const next = injections.next().value as ReturnType<typeof injections.next>['value'] & object
        await sleepUntil(Math.min(performance.now() + next.gapMs, phaseEnd - 15_000), () => state.stopping)
        if (state.stopping || performance.now() >= phaseEnd - 15_000) break
        const kind = next.kind
        if (CLIENT_KINDS.has(kind)) clients[next.target % clients.length]?.request(kind as ClientInjection)
        else if (kind === 'drain-restart' || kind === 'kill-restart') void replace(next.target, kind)
        else {
          const fault = PROVIDER_KINDS[kind] as ProviderFault
          trail.add(-1, `provider ${next.role}: ${fault}`)
          providers.inject(next.role, fault, fault === 'slow' ? 6000 : 2500)
          count(kind)
        }
      }
      await sleepUntil(phaseEnd, () => state.stopping)
      if (state.stopping) break
      o.log(`phase ${summary.phases}: finishing (${minutesNow().toFixed(1)} min)`)
      // What each caller heard against its session's saved history, read as soon as the caller left
      // (the record lives for the reconnect grace; the last write may trail the close).
      const checkHistory = async (c: ChaosClient): Promise<void> => {
        await sleep(1000)
        let problem: string | undefined
        for (let attempt = 0; attempt < 4 && !state.stopping; attempt++) {
          const server = live()[0]
          if (server === undefined) return
          problem = matchHistory(expectedHistory(c.ledger.turns), await server.history(c.sessionId) ?? [])
          if (problem === undefined) {
            summary.invariantChecks++
            return
          }
          await sleep(1000)
        }
        if (problem !== undefined) fail(`session ${c.index} (${c.sessionId}): ${problem}`)
      }
      await Promise.all(clients.map(async c => { await c.finish(); await checkHistory(c) }))
      await sleepUntil(performance.now() + 60_000, () => !draining)
      for (const c of clients) {
        clock.clients.delete(c)
        summary.skipped += c.pending
      }
      tally(summary, clients, clock)
      tallied = clients
      if (state.stopping) break
      // Back to the baseline once the grace is over and the sessions ended.
      await sleep(o.reconnectGraceMs + 3000)
      for (const server of live()) {
        const problem = await settled(server, baselines, o.heapSlackMB)
        if (problem !== undefined) {
          fail(`server ${server.pid} after phase ${summary.phases}: ${problem}`)
          break
        }
        summary.invariantChecks++
      }
      await sample()
    }
    if (tallied !== clients) tally(summary, clients, clock)
  } catch (err) {
    fail(`the bench failed: ${(err as Error).stack ?? String(err)}`)
  } finally {
    state.stopping = true
    clearInterval(sampler)
    clock.stop()
    await Promise.all(clients.map(async c => { await c.abort() }))
    for (const server of servers) server.kill()
    await Promise.all(servers.map(async s => await s.exited))
    await providers?.close().catch(() => {})
    for (const fn of cleanups.reverse()) await fn()
  }
  summary.minutes = Number(minutesNow().toFixed(2))
  if (summary.violation !== undefined) summary.trail = trail.lines()
  return summary
}

/** Adds the phase's callers' figures to the summary. */
function tally (summary: ChaosSummary, clients: readonly ChaosClient[], clock: MicrophoneClock<ChaosClient>): void {
  for (const c of clients) {
    summary.turns += c.ledger.turns.length
    for (const [end, n] of Object.entries(c.ledger.ends)) summary.ends[end as TurnEnd] += n
    for (const [code, n] of Object.entries(c.ledger.errorCodes)) summary.errorCodes[code] = (summary.errorCodes[code] ?? 0) + n
    summary.invariantChecks += c.ledger.checks
    summary.utterances += c.utterances
    summary.unheard += c.unheard
    summary.reconnects += c.reconnects
    summary.unsavedAfterKill += c.unsavedAfterKill
    summary.maxAudioAfterCancelMs = Math.max(summary.maxAudioAfterCancelMs, c.ledger.maxLoudFramesAfterCancel * 10)
  }
  summary.micStalls = clock.stalls
}

/**
 * Polls a server until it holds no session, peer or connection and its resources and heap are back to
 * its baseline (the first phase's end sets the baseline); a description of what is still left otherwise.
 */
async function settled (server: ServerProcess, baselines: Map<number, ServerStats>, heapSlackMB: number): Promise<string | undefined> {
  let problem: string | undefined
  for (let attempt = 0; attempt < 20; attempt++) {
    const stats = await server.stats()
    const baseline = baselines.get(stats.pid)
    const left: string[] = []
    if (stats.sessions > 0) left.push(`${stats.sessions} sessions`)
    if (stats.peers > 0) left.push(`${stats.peers} peers`)
    if (stats.connections > 0) left.push(`${stats.connections} connections`)
    if (baseline !== undefined) {
      const excess = resourceExcess(baseline.resources, stats.resources, RESOURCE_TOLERANCE)
      if (Object.keys(excess).length > 0) left.push(`resources over the baseline: ${JSON.stringify(excess)}`)
      const heapMB = (stats.heapUsedBytes - baseline.heapUsedBytes) / MB
      if (heapMB > heapSlackMB) left.push(`heap ${heapMB.toFixed(1)} MB over the baseline`)
    }
    if (left.length === 0) {
      if (baseline === undefined) baselines.set(stats.pid, stats)
      return undefined
    }
    problem = left.join('; ')
    await sleep(1000)
  }
  return problem
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

async function sleepUntil (at: number, cut: () => boolean): Promise<void> {
  while (performance.now() < at && !cut()) await sleep(Math.min(200, Math.max(1, at - performance.now())))
}

function round (x: number): number { return Math.round(x * 10) / 10 }

/** The summary as markdown. */
export function formatSummary (s: ChaosSummary): string {
  const lines = [
    `## Chaos run: seed ${s.seed}, ${s.options.sessions} sessions × ${s.phases} phases, ${s.minutes} min, ${s.options.servers} servers`,
    '',
    `- result: ${s.violation === undefined ? '**0 broken invariants**' : `**BROKEN**: ${s.violation}`}`,
    `- sessions ${s.sessions}, turns ${s.turns} (completed ${s.ends.completed}, cancelled by barge-in ${s.ends.cancelled}, error ${s.ends.error}, cut by a drop ${s.ends.dropped}); utterances ${s.utterances}, unheard ${s.unheard}; reconnects ${s.reconnects} (new sessions after a kill, nothing said yet: ${s.unsavedAfterKill}); servers started ${s.serversStarted}`,
    `- turn errors by code: ${JSON.stringify(s.errorCodes)}`,
    `- injections ${s.injectionsTotal} (skipped, no moment before the phase ended: ${s.skipped}): ${Object.entries(s.injections).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `- invariant checks passed: ${s.invariantChecks}; server event-loop p99 max (10 s windows) ${s.loopP99MaxMs.toFixed(0)} ms; microphone clock stalls ${s.micStalls}; most audio heard after a tts-cancelled ${s.maxAudioAfterCancelMs} ms`,
    '',
    '| minute | load (1 min) | servers: RSS / heap MB (after gc) | bench RSS MB |',
    '|---|---|---|---|',
    ...s.memory.map(m => `| ${m.atMinutes} | ${m.load1} | ${m.servers.map(x => `${x.pid}: ${x.rssMB} / ${x.heapMB}`).join(', ')} | ${m.benchRssMB} |`)
  ]
  return lines.join('\n')
}
