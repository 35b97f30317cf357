import { encodeWav } from '../../audio/wav.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_PROVIDER_INIT, LLMRTC_ERR_TTS } from '../../errors.js'
import type { TTSConfig, TTSProvider, TTSResult } from '../types.js'
import { ChildRun, describeExit, type ChildExit } from './child-run.js'
import { WavStreamReader } from './wav-stream-reader.js'

/** How to get espeak-ng, for error messages. */
export const ESPEAK_INSTALL_HINT = 'install it (Debian/Ubuntu: apt-get install espeak-ng; macOS: brew install espeak-ng) or set TTS_PROVIDER to another provider'

export interface EspeakTTSOptions {
  /** The espeak-ng executable: a name looked up on PATH, or a path (default `espeak-ng`). */
  binary?: string
  /** espeak-ng voice (`-v`, default `en-us`; `espeak-ng --voices` lists them). */
  voice?: string
  /** Speaking rate in words per minute (`-s`, 80-450, default 175). `TTSConfig.speed` multiplies it. */
  rateWpm?: number
  /** Pitch (`-p`, 0-99, default 50). */
  pitch?: number
}

/**
 * Speech from espeak-ng, run as a separate process per sentence (`--stdout`): its WAV output is streamed
 * as PCM s16le mono as it is produced. espeak-ng is GPL-3; llmrtc only runs the installed binary, it does
 * not link or ship it. An abort kills the process. `init()` checks that the binary and the voice work
 * and learns the output rate (22050 Hz for espeak-ng's own voices).
 */
export class EspeakTTS implements TTSProvider {
  readonly name = 'espeak-tts'
  readonly #binary: string
  readonly #voice: string
  readonly #rateWpm: number
  readonly #pitch: number
  #sampleRateHz = 22050
  #ready: Promise<void> | undefined

  constructor (options: EspeakTTSOptions = {}) {
    this.#binary = options.binary ?? 'espeak-ng'
    this.#voice = options.voice ?? 'en-us'
    this.#rateWpm = checkRange('rateWpm', options.rateWpm ?? 175, 80, 450)
    this.#pitch = checkRange('pitch', options.pitch ?? 50, 0, 99)
  }

  /** Sample rate of the PCM, in Hz (known for sure once `init()` ran). */
  get pcmSampleRate (): number { return this.#sampleRateHz }

  /** Runs espeak-ng once; throws LLMRTC_ERR_PROVIDER_INIT naming how to install it. Idempotent. */
  async init (): Promise<void> {
    this.#ready ??= this.#probe()
    return await this.#ready
  }

  async speak (text: string, config?: TTSConfig): Promise<TTSResult> {
    config?.signal?.throwIfAborted()
    const parts: Buffer[] = []
    for await (const pcm of this.speakStream(text, config)) parts.push(pcm)
    config?.signal?.throwIfAborted()
    const pcm = Buffer.concat(parts)
    if (config?.format === 'pcm') return { audio: pcm, format: 'pcm', sampleRate: this.#sampleRateHz }
    return { audio: encodeWav(pcm, this.#sampleRateHz), format: 'wav', sampleRate: this.#sampleRateHz }
  }

  async * speakStream (text: string, config?: TTSConfig): AsyncIterable<Buffer> {
    const signal = config?.signal
    if (isAborted(signal) || text.trim() === '') return
    await this.init()
    const run = new ChildRun(this.#binary, this.#args(config), text, signal)
    const reader = new WavStreamReader()
    try {
      for await (const chunk of run.child.stdout as AsyncIterable<Buffer>) {
        if (isAborted(signal)) return
        const pcm = reader.push(chunk)
        if (reader.format !== undefined && (reader.format.channels !== 1 || reader.format.sampleRateHz !== this.#sampleRateHz)) {
          throw new LLMRTC_ERR_TTS(this.name, `espeak-ng wrote ${reader.format.channels} channel(s) at ${reader.format.sampleRateHz} Hz, expected mono at ${this.#sampleRateHz} Hz`)
        }
        if (pcm.length > 0) yield pcm
      }
      const exit = await run.exited
      if (isAborted(signal)) return
      if (exit.code !== 0) throw this.#failure(exit)
    } finally {
      run.kill()
      await run.exited
    }
  }

  #args (config?: TTSConfig): string[] {
    const rate = Math.round(Math.min(450, Math.max(80, this.#rateWpm * (config?.speed ?? 1))))
    return ['--stdout', '--stdin', '-v', config?.voice ?? this.#voice, '-s', String(rate), '-p', String(this.#pitch)]
  }

  async #probe (): Promise<void> {
    const run = new ChildRun(this.#binary, ['--stdout', '--stdin', '-v', this.#voice], 'a')
    const { stdout, exit } = await run.output()
    if (exit.spawnError?.code === 'ENOENT') {
      throw new LLMRTC_ERR_PROVIDER_INIT(this.name, `espeak-ng was not found (${this.#binary}): ${ESPEAK_INSTALL_HINT}`, { cause: exit.spawnError })
    }
    if (exit.code !== 0) throw new LLMRTC_ERR_PROVIDER_INIT(this.name, `espeak-ng ${describeExit(exit)}${errorText(exit)}`, { cause: exit.spawnError })
    const reader = new WavStreamReader()
    reader.push(stdout)
    if (reader.format === undefined) throw new LLMRTC_ERR_PROVIDER_INIT(this.name, 'espeak-ng wrote no WAV header')
    this.#sampleRateHz = reader.format.sampleRateHz
  }

  #failure (exit: ChildExit): Error {
    return new LLMRTC_ERR_TTS(this.name, `espeak-ng ${describeExit(exit)}${errorText(exit)}`, { cause: exit.spawnError })
  }
}

/** ": <espeak-ng's message>" from its stderr, or nothing. */
function errorText (exit: ChildExit): string {
  const text = exit.stderr.trim().split('\n').slice(-2).join(' ')
  return text === '' ? '' : `: ${text}`
}

function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function checkRange (option: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new LLMRTC_ERR_OPTIONS_INVALID(option, `a number from ${min} to ${max}`, String(value))
  }
  return value
}
