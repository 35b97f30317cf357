import { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { ffmpegPath } from '../audio/ffmpeg-path.js'
import { FfmpegProcess } from '../audio/ffmpeg-process.js'
import { LLMRTC_ERR_RECORDING_SINK } from '../errors.js'

/** How a recording is encoded: WAV (PCM s16le, stereo) or Ogg/Opus (through ffmpeg). */
export type RecordingFormat = 'wav' | 'ogg'

/** Where a recording's bytes go: a writable stream, or a function called with each chunk (awaited, in order). */
export type AudioDestination = Writable | ((chunk: Buffer) => void | Promise<void>)

export interface AudioSinkOptions {
  format: RecordingFormat
  sampleRateHz: number
  /**
   * Most bytes waiting for a slow destination (or for ffmpeg) before new audio is dropped (default
   * 512 KiB): what bounds memory when the destination stalls. Dropped audio is counted in `droppedBytes`.
   */
  maxBufferedBytes?: number
  /** Opus bitrate in bits per second (default 32 000). */
  opusBitrate?: number
  /** Called once, with LLMRTC_ERR_RECORDING_SINK, when the destination or the encoder fails; the recording then stops. */
  onError: (error: Error) => void
}

/** The extension and content type of each format. */
export const RECORDING_FORMATS: Record<RecordingFormat, { extension: string, contentType: string }> = {
  wav: { extension: 'wav', contentType: 'audio/wav' },
  ogg: { extension: 'ogg', contentType: 'audio/ogg; codecs=opus' }
}

const DEFAULT_MAX_BUFFERED = 512 * 1024

/**
 * Encodes interleaved s16le stereo PCM into a destination as it comes. `write()` never blocks nor throws:
 * audio the destination cannot take (it is slow, or failed) is dropped, so a stalled or broken sink never
 * stalls the call nor grows memory. WAV is written by hand (a header and the samples; a streamed header
 * says "unknown length", `wavHeader()` gives the exact one for a file); Ogg/Opus through ffmpeg.
 */
export class AudioSink {
  /** Bytes of PCM dropped because the destination was full or had failed. */
  droppedBytes = 0
  /** Bytes of PCM taken in (written or dropped). */
  receivedBytes = 0
  readonly #dest: Writable
  readonly #input: Writable
  readonly #ffmpeg: FfmpegProcess | undefined
  readonly #max: number
  readonly #onError: (error: Error) => void
  #failed = false
  #ended = false

  constructor (destination: AudioDestination, options: AudioSinkOptions) {
    this.#dest = typeof destination === 'function' ? callbackWritable(destination) : destination
    this.#max = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED
    this.#onError = options.onError
    this.#dest.on('error', (err) => { this.#fail('the recording destination failed', err) })
    if (options.format === 'ogg') {
      const ffmpeg = new FfmpegProcess(ffmpegPath(), [
        '-f', 's16le', '-ar', String(options.sampleRateHz), '-ac', '2', '-i', 'pipe:0',
        '-c:a', 'libopus', '-b:a', String(options.opusBitrate ?? 32_000), '-application', 'voip',
        '-flush_packets', '1', '-f', 'ogg', 'pipe:1'
      ])
      this.#ffmpeg = ffmpeg
      this.#input = ffmpeg.child.stdin
      // pipe() waits for the destination: a slow one backs up into ffmpeg, then into the bounded stdin.
      ffmpeg.child.stdout.pipe(this.#dest)
      ffmpeg.exited.then((exit) => {
        if (exit.code !== 0 && !this.#failed) this.#fail(`ffmpeg exited with ${exit.signal ?? String(exit.code)}: ${exit.stderr}`)
      }, (err: unknown) => { this.#fail('ffmpeg could not be started', err) })
    } else {
      this.#input = this.#dest
      this.#dest.write(wavHeader(options.sampleRateHz, undefined))
    }
  }

  /** True once the destination or the encoder failed: nothing more is written. */
  get failed (): boolean { return this.#failed }

  /** Bytes waiting to be taken by the destination (or ffmpeg). */
  get bufferedBytes (): number { return this.#input.writableLength }

  write (pcm: Buffer): void {
    this.receivedBytes += pcm.length
    if (this.#failed || this.#ended || this.#input.destroyed || this.#input.writableLength + pcm.length > this.#max) {
      this.droppedBytes += pcm.length
      return
    }
    this.#input.write(pcm)
  }

  /** Ends the recording: resolves once the destination has everything (or failed; never rejects). */
  async end (): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    if (this.#ffmpeg !== undefined) {
      this.#ffmpeg.end()
      // A destination that failed stops reading: ffmpeg would wait on its stdout forever.
      if (this.#failed) this.#ffmpeg.kill()
      await this.#ffmpeg.exited.catch(() => {})
    } else if (!this.#dest.destroyed) {
      this.#dest.end()
    }
    if (this.#failed) return
    await finished(this.#dest).catch(() => {})
  }

  #fail (reason: string, cause?: unknown): void {
    if (this.#failed) return
    this.#failed = true
    this.#ffmpeg?.kill()
    this.#onError(new LLMRTC_ERR_RECORDING_SINK(reason, cause !== undefined ? { cause } : undefined))
  }
}

/**
 * A WAV header for stereo s16le at `sampleRateHz`. Without `dataBytes` (a stream), the sizes say
 * "unknown" (0xFFFFFFFF), which ffmpeg, sox and browsers read to the end of the file.
 */
export function wavHeader (sampleRateHz: number, dataBytes: number | undefined): Buffer {
  const header = Buffer.alloc(44)
  const unknown = dataBytes === undefined || dataBytes > 0xFFFFFFFF - 36
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(unknown ? 0xFFFFFFFF : 36 + dataBytes, 4)
  header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(2, 22)
  header.writeUInt32LE(sampleRateHz, 24)
  header.writeUInt32LE(sampleRateHz * 4, 28)
  header.writeUInt16LE(4, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(unknown ? 0xFFFFFFFF : dataBytes, 40)
  return header
}

/** A Writable over a chunk callback: one call at a time, awaited; a rejection is the stream's error. */
function callbackWritable (write: (chunk: Buffer) => void | Promise<void>): Writable {
  return new Writable({
    write (chunk: Buffer, _encoding, callback) {
      let result: void | Promise<void>
      try {
        result = write(chunk)
      } catch (err) {
        callback(err as Error)
        return
      }
      Promise.resolve(result).then(() => { callback() }, (err: unknown) => { callback(err instanceof Error ? err : new Error(String(err))) })
    }
  })
}
