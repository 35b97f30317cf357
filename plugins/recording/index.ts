import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { EventEmitter } from 'node:events'
import { systemClock } from '../../lib/clock.js'
import { childLoggerOptions, type Logger } from '../../lib/logger.js'
import { subscribeChannel } from '../../lib/observability/channels.js'
import type { RelayAnswer } from '../../lib/realtime/relay-answers.js'
import { recordRelayAnswer } from '../../lib/recording/relay-answer.js'
import { resolveRecordingOptions, type LLMRTCRecordingOptions } from '../../lib/recording/recording-options.js'
import type { TranscriptWord } from '../../lib/recording/transcript-types.js'
import type { MediaTransportEvents } from '../../lib/transport/media-transport.js'
import { SessionRecordings } from './session-recordings.js'

export type { LLMRTCRecordingOptions, RecordingSessionInfo, RecordingSink } from '../../lib/recording/recording-options.js'
export type { SessionTranscript } from '../../lib/recording/transcript-types.js'

/** `fastify.llmrtcRecording`. */
export interface LLMRTCRecordingDecorator {
  /** Records the sessions of another media transport too (WebRTC's, and those given to the pipeline after this plugin, are taken). */
  listen: (transport: EventEmitter<MediaTransportEvents>) => void
  /** An answer of a relay-mode session (llmrtc-realtime) played out or was cut: it joins the session's transcript. */
  relayAnswer: (sessionId: string, answer: RelayAnswer) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcRecording: LLMRTCRecordingDecorator
  }
}

/**
 * Records sessions: stereo audio (the user left, the assistant as played right, on one clock) streamed to a
 * directory or a sink as the call goes, and a JSON transcript per session given to `onSessionEnd` and the
 * sink. Off unless registered (the umbrella's `recording` option). See docs/recording.md.
 */
async function llmrtcRecording (fastify: FastifyInstance, opts: LLMRTCRecordingOptions): Promise<void> {
  const options = resolveRecordingOptions(opts ?? {})
  const config = fastify.llmrtcConfig
  const clock = config.clock ?? systemClock
  const hooks = fastify.llmrtc.hooks
  const sessions = fastify.llmrtcSessions
  const log = fastify.log.child({ plugin: 'llmrtc-recording' }, childLoggerOptions) as Logger
  const recordings = new SessionRecordings({ options, clock, hooks, log, session: (id) => sessions.get(id) })

  hooks.addHook('onSpeechStart', (sessionId, at) => { recordings.with(sessionId, r => { r.transcript.speechStarted(at) }) })
  hooks.addHook('onSpeechEnd', (sessionId, at, durationMs) => { recordings.with(sessionId, r => { r.transcript.speechEnded(at, durationMs) }) })
  hooks.addHook('onTurnStart', (ctx) => {
    recordings.with(ctx.sessionId, (r, entry) => {
      r.transcript.turnStarted(ctx.turnId)
      entry.lastMessage = sessions.get(ctx.sessionId)?.history.messages.at(-1)
    })
  })
  hooks.addHook('onSTTEnd', (ctx, result) => {
    const words = (result as { words?: unknown }).words
    recordings.with(ctx.sessionId, r => { r.transcript.userSaid(ctx.turnId, result.text, clock.now(), Array.isArray(words) ? words as TranscriptWord[] : undefined) })
  })
  hooks.addHook('onTTSStart', (ctx, text) => { recordings.with(ctx.sessionId, r => { r.transcript.spoke(ctx.turnId, text) }) })
  hooks.addHook('onToolStart', (ctx, call) => { recordings.with(ctx.sessionId, r => { r.transcript.toolStarted(ctx.turnId, call.callId, call.name, call.arguments) }) })
  hooks.addHook('onToolEnd', (ctx, result, timing) => { recordings.with(ctx.sessionId, r => { r.transcript.toolEnded(result.callId, result.name, result, timing) }) })
  hooks.addHook('onTransition', (sessionId, change) => { recordings.with(sessionId, r => { r.transcript.stageChanged(change, clock.now()) }) })

  // Channel listeners must not throw (diagnostics_channel rethrows as uncaught): recordings never do.
  const unsubscribe = [
    subscribeChannel('llmrtc:barge-in', (event) => { recordings.ifFollowed(event.sessionId, r => { r.transcript.bargeIn(event.turnId, event.at) }) }),
    subscribeChannel('llmrtc:turn:end', (event) => {
      recordings.ifFollowed(event.sessionId, (r, entry) => {
        // The pipeline keeps what was heard of a cut answer as the history's last message.
        let heard: string | undefined
        if (event.outcome === 'cancelled') {
          const last = sessions.get(event.sessionId)?.history.messages.at(-1)
          heard = last !== undefined && last !== entry.lastMessage && last.role === 'assistant' && last.toolCalls === undefined ? last.content : ''
        }
        r.transcript.turnEnded({ ...event, timings: { ...event.timings } }, heard)
      })
    })
  ]

  function listen (transport: EventEmitter<MediaTransportEvents>): void {
    transport.on('media', (sessionId, media) => { recordings.media(sessionId, media) })
    transport.on('closed', (sessionId) => { recordings.mediaClosed(sessionId) })
  }
  if (fastify.hasDecorator('llmrtcTransport')) listen(fastify.llmrtcTransport)
  // Phone calls and device streams hand their transport to the pipeline (llmrtcPipeline.listen) when they
  // register: registered before them (the umbrella does), this records each transport the pipeline takes.
  if (fastify.hasDecorator('llmrtcPipeline')) {
    const pipeline = fastify.llmrtcPipeline
    const pipelineListen = pipeline.listen
    pipeline.listen = (transport) => { pipelineListen(transport); listen(transport) }
  }
  fastify.decorate('llmrtcRecording', {
    listen,
    relayAnswer (sessionId: string, answer: RelayAnswer): void { recordings.with(sessionId, r => { recordRelayAnswer(r.transcript, answer) }) }
  })

  // A fresh session a reconnect replaced has nothing of its own to keep.
  sessions.on('ended', (session, reason) => { recordings.ended(session.id, reason !== 'replaced') })

  fastify.addHook('onClose', async function finishRecordings () {
    for (const off of unsubscribe) off()
    await recordings.close()
  })
}

export default fp(llmrtcRecording, {
  name: 'llmrtc-recording',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks', 'llmrtc-sessions'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc', 'llmrtcSessions'] }
})
