/**
 * How long the published browser client takes to connect, phase by phase: `client.start()` and
 * `shareAudio()` of `@llmrtc/llmrtc-web-client` (a devDependency, pinned: the acceptance-style client)
 * against an in-process LLMRTCServer (library mode) on 127.0.0.1.
 * Run: `npx tsx bench/connect.ts [connects] [--behind-nat] [--trickle]` (default 30; prints markdown).
 *
 * `--behind-nat` hides the candidates of the client's offer from the server, as a client behind NAT
 * hides its own: the server's checks then cannot succeed before the client's, which on loopback end
 * the server's ICE gathering early, so this is the case that shows how long the server's answer
 * waits on its gathering.
 *
 * `--trickle` replaces the published client with bench/trickle-client.ts, a minimal client that sends its
 * offer at once and trickles its candidates: what connecting costs without the published client's own
 * waits (its ICE gathering before the offer, its 100 ms poll in `shareAudio()`).
 *
 * The client runs unmodified, on @roamhq/wrtc's WebRTC globals and Node's own WebSocket. The bench
 * watches both ends from outside, on one clock (performance.now(); both live in this process):
 * - the client's peer and socket through the globals it is given (subclasses that note when each
 *   call returns and each state is reached);
 * - the server's peer through `webrtc.loadWrtc` (the same, for the server's RTCPeerConnection);
 * - the microphone's first frame at the server through `llmrtcTransport` `media`.
 * Each phase is counted from the end of the latest earlier phase, so phases that overlap count once
 * and the phases of a call add up to the call.
 *
 * Runs inside a loopback-only network namespace when it can (see test/helpers/webrtc-client.ts): the
 * client's ICE then sees only lo, as on a one-interface host.
 */
import { cpus, loadavg } from 'node:os'
import { LLMRTCWebClient } from '@llmrtc/llmrtc-web-client'
import { LLMRTCServer } from '../server/llmrtc-server.js'
import { loadWrtc, type Wrtc, type WrtcAudioData, type WrtcMediaStreamTrack, type WrtcPeerConnection } from '../plugins/webrtc/wrtc.js'
import { guard } from './guard.js'
import { instantProviders } from './instant-providers.js'
import { TricklingClient } from './trickle-client.js'
import { isolateNetwork } from './webrtc-test-client.js'

const isolated = isolateNetwork()
guard(10 * 60_000)
const BEHIND_NAT = process.argv.includes('--behind-nat')
const TRICKLE = process.argv.includes('--trickle')
const CONNECTS = Number(process.argv.slice(2).find(arg => !arg.startsWith('--')) ?? 30)
const WARMUP = 2

type Stage = 'start' | 'share'
let stage: Stage = 'start'
let marks = new Map<string, number>()
/** Trickled `ice` messages the client received (it ignores them) in this connect. */
let iceMessages = 0
/** Notes the first time `name` happened in this connect. */
function mark (name: string): void {
  if (!marks.has(name)) marks.set(name, performance.now())
}

// The client prints every step on the console: kept out of the report.
const log = console.log.bind(console)
for (const method of ['log', 'warn', 'error'] as const) {
  const original = console[method].bind(console)
  console[method] = (...args: unknown[]) => {
    const first = args[0]
    if (typeof first === 'string' && /^\[(web-client|native-peer|connection-state)\]/.test(first)) return
    original(...args)
  }
}

const wrtc = loadWrtc() as Wrtc & { MediaStream: new (tracks: unknown[]) => unknown }
type PeerConstructor = new (config: unknown) => WrtcPeerConnection & { iceConnectionState: string, addEventListener: (type: string, listener: (event: { channel?: unknown, track?: unknown }) => void) => void }
const NativePeerConnection = wrtc.RTCPeerConnection as unknown as PeerConstructor

/** An RTCPeerConnection that notes when its calls return and its states change, as `<side><Stage>…` marks. */
function probedPeer (side: 'client' | 'server'): PeerConstructor {
  return class ProbedPeerConnection extends NativePeerConnection {
    constructor (config: unknown) {
      super(config)
      const at = (what: string): void => { mark(`${side}:${stage}:${what}`) }
      at('peer')
      this.addEventListener('icegatheringstatechange', () => { if (this.iceGatheringState === 'complete') at('gathered') })
      this.addEventListener('iceconnectionstatechange', () => {
        if (this.iceConnectionState === 'checking') at('checking')
        if (this.iceConnectionState === 'connected' || this.iceConnectionState === 'completed') at('ice')
      })
      this.addEventListener('connectionstatechange', () => { if (this.connectionState === 'connected') at('dtls') })
      this.addEventListener('negotiationneeded', () => { at('negotiationneeded') })
      if (side === 'client') {
        // The server's track, as the client's audio element would get it: its first frame at the client.
        this.addEventListener('track', (event: { track?: unknown }) => {
          const sink = new wrtc.nonstandard.RTCAudioSink(event.track as WrtcMediaStreamTrack)
          sink.ondata = () => { at('first-audio'); sink.ondata = null; sink.stop() }
        })
      }
      const timed = <K extends 'createOffer' | 'createAnswer' | 'setLocalDescription' | 'setRemoteDescription'>(name: K, what: string): void => {
        const call = this[name].bind(this) as (...args: unknown[]) => Promise<unknown>
        Object.defineProperty(this, name, {
          value: async (...args: unknown[]) => {
            at(`${what}-call`)
            if (BEHIND_NAT && side === 'server' && name === 'setRemoteDescription') args[0] = withoutCandidates(args[0] as { type: string, sdp: string })
            const result = await call(...args)
            at(what)
            return result
          }
        })
      }
      const createDataChannel = this.createDataChannel.bind(this)
      Object.defineProperty(this, 'createDataChannel', {
        value: (label: string, init?: { ordered?: boolean }) => {
          const channel = createDataChannel(label, init) as ReturnType<typeof createDataChannel> & { addEventListener: (type: 'open', listener: () => void) => void }
          channel.addEventListener('open', () => { at('channel') })
          return channel
        }
      })
      timed('createOffer', 'offer')
      timed('createAnswer', 'answer')
      timed('setLocalDescription', 'local')
      timed('setRemoteDescription', 'remote')
    }
  }
}

function withoutCandidates (description: { type: string, sdp: string }): { type: string, sdp: string } {
  return { type: description.type, sdp: description.sdp.split('\r\n').filter(line => !line.startsWith('a=candidate:')).join('\r\n') }
}

/** Node's WebSocket, noting when it opens, the `ready` and `signal` it receives and the `offer`s it sends. */
class ProbedWebSocket extends WebSocket {
  constructor (url: string | URL, protocols?: string | string[]) {
    super(url, protocols)
    this.addEventListener('open', () => { mark('client:start:ws-open') })
    this.addEventListener('message', (event: MessageEvent) => {
      const type = (JSON.parse(String(event.data)) as { type: string }).type
      if (type === 'ready' || type === 'signal') mark(`client:${stage}:${type}`)
      if (type === 'ice') iceMessages++
    })
  }

  override send (data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (typeof data === 'string' && data.startsWith('{"type":"offer"')) mark(`client:${stage}:offer-sent`)
    super.send(data)
  }
}

const ClientPeer = probedPeer('client')
Object.assign(globalThis, { RTCPeerConnection: ClientPeer, MediaStream: wrtc.MediaStream, WebSocket: ProbedWebSocket })
const serverWrtc: Wrtc = { ...wrtc, RTCPeerConnection: probedPeer('server') as unknown as Wrtc['RTCPeerConnection'] }

const server = new LLMRTCServer({
  env: false,
  port: 0,
  host: '127.0.0.1',
  logger: false,
  providers: instantProviders(),
  // Every connect comes from 127.0.0.1, one after the other.
  maxSessionsPerClient: 1000,
  webrtc: { loadWrtc: () => serverWrtc }
})
const app = server.getApp()
await app.ready()
app.llmrtcTransport.on('media', (_sessionId, media) => {
  mark('server:share:track')
  const stop = media.onAudio(() => { mark('server:share:first-audio'); stop() })
})
const { port } = await server.start()
const url = `ws://127.0.0.1:${port}/`

/** [label, mark]: each phase ends at its mark. */
const START_PHASES = [
  ['WebSocket open', 'client:start:ws-open'],
  ['`ready` received', 'client:start:ready'],
  ['client: peer, `createOffer`', 'client:start:offer'],
  ['client: `setLocalDescription`', 'client:start:local'],
  ['client: ICE gathering complete', 'client:start:gathered'],
  ['`offer` sent', 'client:start:offer-sent'],
  ['server: offer received, peer made', 'server:start:remote-call'],
  ['server: `setRemoteDescription`', 'server:start:remote'],
  ['server: `createAnswer`', 'server:start:answer'],
  ['server: `setLocalDescription`', 'server:start:local'],
  ['server: waits, sends the answer; `signal` received', 'client:start:signal'],
  ['client: `setRemoteDescription`', 'client:start:remote'],
  ['ICE checks (client connected)', 'client:start:ice'],
  ['DTLS (client connected)', 'client:start:dtls'],
  ['data channel open', 'client:start:channel'],
  ['`start()` resolves', 'client:start:resolved']
] as const
const SHARE_PHASES = [
  ['client: `negotiationneeded`', 'client:share:negotiationneeded'],
  ['client: `createOffer`', 'client:share:offer'],
  ['client: `setLocalDescription`', 'client:share:local'],
  ['`offer` sent', 'client:share:offer-sent'],
  ['server: `setRemoteDescription`', 'server:share:remote'],
  ['server: `createAnswer`, `setLocalDescription`', 'server:share:local'],
  ['`signal` received', 'client:share:signal'],
  ['client: `setRemoteDescription` (stable)', 'client:share:remote'],
  ['`shareAudio()` resolves', 'client:share:resolved']
] as const
/** Side facts, not phases: [label, from, to]. */
const FACTS = [
  ['server ICE gathering (its `setLocalDescription` → complete)', 'server:start:local', 'server:start:gathered'],
  ['server ICE connected, after its `setRemoteDescription`', 'server:start:remote', 'server:start:ice'],
  ['`shareAudio()` called → microphone track at the server', 'client:share:call', 'server:share:track'],
  ['`shareAudio()` called → first microphone frame at the server', 'client:share:call', 'server:share:first-audio'],
  ['`shareAudio()` called → first frame of the server\'s track at the client', 'client:share:call', 'client:share:first-audio']
] as const

const runs: Array<Map<string, number>> = []
const iceCounts: number[] = []
const failures: string[] = []
for (let i = 0; i < CONNECTS + WARMUP; i++) {
  marks = new Map()
  iceMessages = 0
  stage = 'start'
  const client = TRICKLE ? new TricklingClient(ClientPeer) : new LLMRTCWebClient({ signallingUrl: url, reconnection: { enabled: false } })
  const source = new wrtc.nonstandard.RTCAudioSource()
  const track = source.createTrack()
  const frame: WrtcAudioData = { samples: new Int16Array(480), sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 }
  const mic = setInterval(() => { source.onData(frame) }, 10)
  try {
    mark('client:start:call')
    await (client instanceof TricklingClient ? client.start(url) : client.start())
    mark('client:start:resolved')
    stage = 'share'
    mark('client:share:call')
    const stream = new wrtc.MediaStream([track])
    await (client instanceof TricklingClient ? client.shareAudio(track, stream) : client.shareAudio(stream))
    mark('client:share:resolved')
    const deadline = performance.now() + 2000
    while (!(marks.has('server:share:first-audio') && marks.has('client:share:first-audio')) && performance.now() < deadline) await sleep(5)
    if (i >= WARMUP) {
      runs.push(marks)
      iceCounts.push(iceMessages)
    }
  } catch (error) {
    failures.push(`connect ${i}: ${(error as Error).message}`)
  } finally {
    clearInterval(mic)
    client.close()
    track.stop()
  }
  const deadline = performance.now() + 2000
  while (app.llmrtcSignaling.connections().length > 0 && performance.now() < deadline) await sleep(5)
  await sleep(50)
}

function phases (list: ReadonlyArray<readonly [string, string]>, from: string): Array<[string, number[]]> {
  return list.map(([label, name], index) => [label, runs.map(run => {
    const end = run.get(name)
    const earlier = [from, ...list.slice(0, index).map(([, n]) => n)].map(n => run.get(n) ?? -Infinity)
    return end === undefined ? NaN : Math.max(0, end - Math.max(...earlier))
  })])
}
function quantile (values: number[], q: number): number {
  const sorted = values.filter(v => !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}
const row = (label: string, values: number[]): string => `| ${label} | ${quantile(values, 0.5).toFixed(1)} | ${quantile(values, 0.95).toFixed(1)} |`
const total = (from: string, to: string): number[] => runs.map(run => (run.get(to) ?? NaN) - (run.get(from) ?? NaN))

log(`# Connecting: ${TRICKLE ? 'a trickling client (bench/trickle-client.ts)' : 'the published client (@llmrtc/llmrtc-web-client)'} against LLMRTCServer, ${runs.length} connects${BEHIND_NAT ? ', client candidates hidden from the server (as behind NAT)' : ''}`)
log(`\nnetwork: ${isolated ? 'loopback-only namespace' : '127.0.0.1 (no namespace)'}; ${cpus().length} cores; load average ${loadavg().map(l => l.toFixed(2)).join(' ')}\n`)
log('| `client.start()`, phase | p50 ms | p95 ms |\n|---|---:|---:|')
for (const [label, values] of phases(START_PHASES.filter(([, name]) => !TRICKLE || name !== 'client:start:gathered'), 'client:start:call')) log(row(label, values))
log(row('**`start()` in all**', total('client:start:call', 'client:start:resolved')))
log('\n| `shareAudio()`, phase | p50 ms | p95 ms |\n|---|---:|---:|')
for (const [label, values] of phases(SHARE_PHASES.filter(([, name]) => !TRICKLE || name !== 'client:share:negotiationneeded'), 'client:share:call')) log(row(label, values))
log(row('**`shareAudio()` in all**', total('client:share:call', 'client:share:resolved')))
log('\n| also measured | p50 ms | p95 ms |\n|---|---:|---:|')
for (const [label, from, to] of FACTS) log(row(label, total(from, to)))
log(`\n\`ice\` messages from the server${TRICKLE ? '' : ' (the client ignores them)'}: ${iceCounts.reduce((a, b) => a + b, 0) / Math.max(1, iceCounts.length)} per connect`)
if (failures.length > 0) log(`\nfailures (${failures.length}): ${failures.slice(0, 5).join('; ')}`)

await server.stop()
process.exit(failures.length > 0 ? 1 : 0)

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
