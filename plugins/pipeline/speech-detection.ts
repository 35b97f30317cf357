import type { FastifyInstance } from 'fastify'
import type { AudioFrame } from '../../lib/audio/audio-frame.js'
import { systemClock } from '../../lib/clock.js'
import { clientErrorOf, protocolCodeOf } from '../../lib/errors.js'
import type { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'
import type { Session } from '../../lib/sessions/session.js'
import type { SessionMedia } from '../../lib/transport/media-transport.js'
import { linkSignals } from '../../lib/streams/link-signals.js'
import type { SpeechSegmenterOptions } from '../../lib/vad/segmenter-options.js'

/**
 * Listens to a session's microphone: frames from the track go (through RNNoise, with the
 * `noiseSuppression` option) to a speech detector on the shared Silero model, whose events drive the
 * session's pipeline; the utterances it cuts, denoised, are what the STT gets. Returns the function that
 * stops it (which also frees the session's denoise state).
 */
export function attachSpeechDetection (init: { fastify: FastifyInstance, session: Session, media: SessionMedia, pipeline: VoicePipeline, vadOptions: SpeechSegmenterOptions | undefined }): () => void {
  const { fastify, session, media, pipeline } = init
  const clock = fastify.llmrtcConfig.clock ?? systemClock
  const controller = new AbortController()
  // Stops following the session's signal when detached (the controller aborts).
  const signal = linkSignals(controller.signal, session.signal).signal
  const detector = fastify.llmrtcVad.createDetector({
    ...init.vadOptions,
    signal,
    onEvent: (event) => { pipeline.onSpeechEvent(event) },
    // The VAD fell behind real time (an overloaded process): end-of-speech decisions come late.
    onBacklog: (backlogMs) => { fastify.log.warn({ sessionId: session.id, backlogMs }, 'speech detection is falling behind real time') },
    onError: (err) => {
      fastify.log.warn({ err, sessionId: session.id }, 'speech detection failed')
      session.send(clientErrorOf(err))
      void fastify.llmrtc.hooks.run('onError', err, { code: protocolCodeOf(err), component: 'vad', sessionId: session.id, timestamp: clock.now() })
    }
  })
  // Adaptive end of turn moves this detector's end-of-speech wait.
  pipeline.setEndpointControl(detector)
  // Speech over an answer starts at the interruption's lower onset threshold, and a loudness onset pauses it sooner.
  pipeline.setOnsetControl(detector)
  const suppressor = fastify.llmrtcVad.createNoiseSuppressor(signal)
  const push = (frame: AudioFrame): void => { detector.push(frame) }
  const unsubscribe = media.onAudio(suppressor === undefined ? push : (frame) => { suppressor.process(frame, push) })
  return () => {
    unsubscribe()
    pipeline.setEndpointControl(undefined)
    pipeline.setOnsetControl(undefined)
    controller.abort()
  }
}
