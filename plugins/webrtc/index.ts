import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { systemClock } from '../../lib/clock.js'
import { LLMRTC_ERR_CONNECTION_FAILED, LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE } from '../../lib/errors.js'
import { isStreamingAudio } from '../../lib/signaling/audio-streaming.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'
import { iceServersFor } from '../../lib/transport/ice-servers.js'
import { handleChannelMessage } from './channel-messages.js'
import { PeerSession } from './peer-session.js'
import { WebRTCTransport } from './webrtc-transport.js'
import { loadWrtc, type Wrtc } from './wrtc.js'

/** Options of the `llmrtc-webrtc` plugin. */
export interface LLMRTCWebRTCOptions {
  /**
   * Loads the WebRTC implementation (default: `require('@roamhq/wrtc')`). When it throws, the server
   * runs without WebRTC: offers get `error{code:'WEBRTC_UNAVAILABLE'}` and `available` is false.
   */
  loadWrtc?: () => Wrtc
  /**
   * Longest wait for the candidates the answer must carry (a UDP host candidate; server-reflexive with a
   * STUN server, relayed with a TURN server) before answering, in ms (default 2000). Later candidates are trickled.
   */
  gatherTimeoutMs?: number
  /** How long a `disconnected` peer may take to recover before it counts as failed, in ms (default 10000). */
  disconnectedGraceMs?: number
  /**
   * Opus discontinuous transmission on the server's outbound audio (default false): while nothing plays,
   * a comfort-noise packet every 400 ms instead of 50 packets a second, at the price of an Opus encoder
   * that costs ~3 times as much CPU (docs/benchmarks.md, Opus DTX under load). The client's offer may
   * refuse it with `usedtx=0`.
   */
  opusDtx?: boolean
}

/** Every key of LLMRTCWebRTCOptions (tsc keeps it complete): any other key is refused. */
export const WEBRTC_OPTION_KEYS: Record<keyof LLMRTCWebRTCOptions, true> = { loadWrtc: true, gatherTimeoutMs: true, disconnectedGraceMs: true, opusDtx: true }

declare module 'fastify' {
  interface FastifyInstance {
    /** The WebRTC media transport: per-session microphone audio in, paced speech out. */
    llmrtcTransport: WebRTCTransport
  }
}

async function llmrtcWebRTC (fastify: FastifyInstance, opts: LLMRTCWebRTCOptions): Promise<void> {
  refuseUnknownKeys(opts, [...Object.keys(WEBRTC_OPTION_KEYS), ...FASTIFY_REGISTER_OPTION_KEYS], 'webrtc.')
  const gatherTimeoutMs = positiveInteger('gatherTimeoutMs', opts.gatherTimeoutMs ?? 2000)
  const disconnectedGraceMs = positiveInteger('disconnectedGraceMs', opts.disconnectedGraceMs ?? 10_000)
  if (opts.opusDtx !== undefined && typeof opts.opusDtx !== 'boolean') throw new LLMRTC_ERR_OPTIONS_INVALID('opusDtx', 'a boolean', typeof opts.opusDtx)
  const opusDtx = opts.opusDtx ?? false
  const config = fastify.llmrtcConfig
  const clock = config.clock ?? systemClock
  const hooks = fastify.llmrtc.hooks
  const signaling = fastify.llmrtcSignaling
  const log = fastify.log.child({ plugin: 'llmrtc-webrtc' })

  let wrtc: Wrtc | undefined
  try {
    wrtc = (opts.loadWrtc ?? loadWrtc)()
  } catch (err) {
    log.warn({ err }, 'WebRTC is unavailable (@roamhq/wrtc did not load): offers will be answered with WEBRTC_UNAVAILABLE')
  }
  const transport = new WebRTCTransport(wrtc !== undefined, log)
  fastify.decorate('llmrtcTransport', transport)
  // Without WebRTC, signaling's own handlers keep answering offers with WEBRTC_UNAVAILABLE.
  if (wrtc === undefined) return
  const rtc = wrtc

  function createPeer (ctx: ConnectionContext): PeerSession {
    let peer: PeerSession
    try {
      peer = newPeer(ctx)
    } catch (cause) {
      if ((cause as { code?: unknown }).code === 'LLMRTC_ERR_CONNECTION_FAILED') throw cause
      throw new LLMRTC_ERR_CONNECTION_FAILED('could not create the peer connection', { cause })
    }
    transport.add(ctx, peer)
    return peer
  }

  function newPeer (ctx: ConnectionContext): PeerSession {
    const peer: PeerSession = new PeerSession({
      wrtc: rtc,
      iceServers: iceServersFor(config, ctx.connection.id, clock.now()),
      gatherTimeoutMs,
      disconnectedGraceMs,
      opusDtx,
      clock,
      log: ctx.log,
      onChannel: (channel) => { ctx.connection.attachChannel(channel) },
      onChannelMessage: (data) => {
        fastify.llmrtcSessions.touch(ctx.session)
        handleChannelMessage(data, ctx, config.maxMessageBytes)
      },
      onCandidate: (candidate) => { ctx.connection.send({ type: 'ice', candidate }) },
      onMedia: () => { ctx.session.transport = 'webrtc'; transport.announceMedia(peer) },
      onFailed: (reason) => { onPeerFailed(ctx, peer, reason) }
    })
    return peer
  }

  function onPeerFailed (ctx: ConnectionContext, peer: PeerSession, reason: string): void {
    if (transport.peerFor(ctx) !== peer) return
    const err = new LLMRTC_ERR_CONNECTION_FAILED(reason)
    ctx.log.warn({ reason }, 'WebRTC connection failed')
    transport.close(ctx)
    ctx.connection.send({ type: 'error', code: 'CONNECTION_FAILED', message: err.message })
    void hooks.run('onError', err, { code: 'CONNECTION_FAILED', component: 'webrtc', sessionId: ctx.session.id, timestamp: clock.now() })
  }

  signaling.handle('offer', async (message, ctx) => {
    if (isStreamingAudio(ctx)) throw new LLMRTC_ERR_PROTOCOL_INVALID_MESSAGE('offer', 'this session streams its audio over the WebSocket (audio-stream-start): send audio-stream-stop before an offer')
    const existing = transport.peerFor(ctx)
    const peer = existing ?? createPeer(ctx)
    let sdp: string | undefined
    try {
      sdp = await peer.answer(message.signal.sdp)
    } catch (err) {
      // A first offer that cannot be answered leaves no half-made peer behind.
      if (existing === undefined && transport.peerFor(ctx) === peer) transport.close(ctx)
      throw err
    }
    if (sdp === undefined || ctx.signal.aborted) return
    ctx.connection.send({ type: 'signal', signal: { type: 'answer', sdp } })
  })

  signaling.handle('ice', async (message, ctx) => {
    const peer = transport.peerFor(ctx)
    if (peer === undefined) {
      ctx.log.debug('ICE candidate before any offer ignored')
      return
    }
    await peer.addCandidate(message.candidate)
  })

  // The resumed session gets a new peer from the client's next offer.
  signaling.on('rebound', (ctx) => { transport.close(ctx) })
  signaling.on('close', (ctx) => { transport.close(ctx) })
  fastify.addHook('preClose', async function closePeers () { transport.closeAll() })
  fastify.addHook('onClose', async function closeRemainingPeers () { transport.closeAll() })
}

function positiveInteger (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new LLMRTC_ERR_OPTIONS_INVALID(name, 'an integer >= 1 (milliseconds)', typeof value === 'number' ? String(value) : typeof value)
  }
  return value
}

export default fp(llmrtcWebRTC, {
  name: 'llmrtc-webrtc',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks', 'llmrtc-sessions', 'llmrtc-signaling'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc', 'llmrtcSessions', 'llmrtcSignaling'] }
})
