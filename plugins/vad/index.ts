import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { FASTIFY_REGISTER_OPTION_KEYS, refuseUnknownKeys } from '../../lib/config/unknown-options.js'
import { systemClock } from '../../lib/clock.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_VAD } from '../../lib/errors.js'
import { loadRnnoise, NoiseSuppressor, type Rnnoise } from '../../lib/audio/noise-suppressor.js'
import { DEFAULT_SEGMENTER_OPTIONS, resolveSegmenterOptions, type ResolvedSegmenterOptions, type SpeechSegmenterOptions } from '../../lib/vad/segmenter-options.js'
import { linkSignals } from '../../lib/streams/link-signals.js'
import { SileroVad } from '../../lib/vad/silero-vad.js'
import { SpeechDetector, type SpeechDetectorOptions } from '../../lib/vad/speech-detector.js'

/** Options of the `llmrtc-vad` plugin: server-wide segmentation defaults and the model file. */
export interface LLMRTCVadOptions extends SpeechSegmenterOptions {
  /** Path of a Silero VAD v5/v6 ONNX file (default: the bundled models/silero_vad_v5.onnx). */
  modelPath?: string
}

/** `fastify.llmrtcVad`: speech detection for audio streams, on one shared Silero model. */
export interface LLMRTCVadDecorator {
  /** Server-wide segmentation options, defaults applied. */
  readonly options: Readonly<ResolvedSegmenterOptions>
  /**
   * A detector for one stream. Segmentation options given here apply over the server's. Throws
   * LLMRTC_ERR_OPTIONS_INVALID for a bad option, LLMRTC_ERR_VAD before `ready()`. Closed when the
   * server closes, or when `options.signal` aborts.
   */
  createDetector: (options: SpeechDetectorOptions) => SpeechDetector
  /**
   * With the `noiseSuppression` option on: an RNNoise denoiser for one stream (its own state), to put
   * before its detector; destroyed when `signal` (the stream's) aborts or the server closes. Undefined when the option
   * is off. Throws LLMRTC_ERR_VAD before `ready()`.
   */
  createNoiseSuppressor: (signal: AbortSignal) => NoiseSuppressor | undefined
  /** The process's RNNoise module once ready, when noise suppression is on (`liveStates` counts open denoisers). */
  readonly rnnoise: Rnnoise | undefined
}

/**
 * Checks the umbrella's `vad: false` (no VAD, no model load): only for apps whose audio comes in `audio`
 * messages (a whole utterance each), so WebRTC must be off too, its microphone audio needing the VAD.
 */
export function refuseVadOffWithWebRTC (vad: LLMRTCVadOptions | false | undefined, webrtcOn: boolean): void {
  if (vad === false && webrtcOn) {
    throw new LLMRTC_ERR_OPTIONS_INVALID('vad', 'segmentation options, or false together with webrtc: false (WebRTC microphone audio is listened to by the VAD)', 'false while webrtc is on')
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcVad: LLMRTCVadDecorator
  }
}

async function llmrtcVad (fastify: FastifyInstance, opts: LLMRTCVadOptions): Promise<void> {
  const log = fastify.log.child({ plugin: 'llmrtc-vad' })
  const { modelPath, ...segmenterOptions } = opts ?? {}
  refuseUnknownKeys(segmenterOptions, [...Object.keys(DEFAULT_SEGMENTER_OPTIONS), ...FASTIFY_REGISTER_OPTION_KEYS], 'vad.')
  if (modelPath !== undefined && (typeof modelPath !== 'string' || modelPath === '')) {
    throw new LLMRTC_ERR_OPTIONS_INVALID('vad.modelPath', 'a path to an ONNX file', typeof modelPath === 'string' ? '""' : typeof modelPath)
  }
  const options = resolveSegmenterOptions(segmenterOptions, undefined, 'vad.')
  const closing = new AbortController()
  let vad: SileroVad | undefined
  const noiseSuppression = fastify.llmrtcConfig.noiseSuppression
  let rnnoise: Rnnoise | undefined

  fastify.decorate('llmrtcVad', {
    options,
    createDetector (detectorOptions: SpeechDetectorOptions): SpeechDetector {
      if (vad === undefined) throw new LLMRTC_ERR_VAD('the model loads when the app is ready: await fastify.ready() first')
      const resolved = resolveSegmenterOptions(detectorOptions, options, 'vad.')
      // Stops following the app's signal when the detector's own one aborts.
      const signal = detectorOptions.signal === undefined ? closing.signal : linkSignals(detectorOptions.signal, closing.signal).signal
      return new SpeechDetector(vad, { ...detectorOptions, ...resolved, signal })
    },
    createNoiseSuppressor (signal: AbortSignal): NoiseSuppressor | undefined {
      if (noiseSuppression === false) return undefined
      if (rnnoise === undefined) throw new LLMRTC_ERR_VAD('the noise suppressor loads when the app is ready: await fastify.ready() first')
      const suppressor = new NoiseSuppressor(rnnoise, noiseSuppression)
      // The link lets go of both sources once either aborts.
      const until = linkSignals(signal, closing.signal).signal
      if (until.aborted) suppressor.destroy()
      else until.addEventListener('abort', () => { suppressor.destroy() }, { once: true })
      return suppressor
    },
    get rnnoise (): Rnnoise | undefined {
      return rnnoise
    }
  })

  // Loaded and run once before the first session, so the first window does not pay for it.
  fastify.addHook('onReady', async function loadVadModel () {
    const clock = fastify.llmrtcConfig.clock ?? systemClock
    const started = clock.now()
    // One WebAssembly instance per process, kept once loaded (125 KB); each session has its own state in it.
    if (noiseSuppression !== false) rnnoise = await loadRnnoise()
    const model = await SileroVad.acquire(modelPath)
    try {
      await model.detect(model.createState(), new Int16Array(512))
    } catch (error) {
      await model.close()
      throw error
    }
    vad = model
    log.info({ modelPath: model.modelPath, loadMs: Math.round(clock.now() - started), noiseSuppression: noiseSuppression !== false }, 'VAD model ready')
  })

  fastify.addHook('onClose', async function releaseVadModel () {
    closing.abort()
    const model = vad
    vad = undefined
    rnnoise = undefined
    await model?.close()
  })
}

export default fp(llmrtcVad, {
  name: 'llmrtc-vad',
  fastify: '5.x',
  dependencies: ['llmrtc-config'],
  decorators: { fastify: ['llmrtcConfig'] }
})
