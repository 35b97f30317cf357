import type { ChildProcess } from 'node:child_process'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT } from '../errors.js'
import { FFMPEG_DEMUXERS, detectAudioFormat, type CompressedAudioFormat } from './ffmpeg-format.js'
import { ffmpegPath } from './ffmpeg-path.js'
import { FfmpegProcess, undecodable } from './ffmpeg-process.js'

export { detectAudioFormat, type CompressedAudioFormat } from './ffmpeg-format.js'

export interface DecodeOptions {
  /** Output sample rate in Hz (default 16000). Output is always 16-bit mono. */
  sampleRateHz?: number
  /** The input's container; detected from its first bytes when not given. */
  format?: CompressedAudioFormat
  /** Kills ffmpeg: `decodeAudio` rejects with the signal's reason, `decodeAudioStream` ends quietly. */
  signal?: AbortSignal
  /** Longest decoded audio accepted, in ms (default: no limit); more is INVALID_FORMAT. */
  maxDurationMs?: number
  /** The ffmpeg binary (default: @ffmpeg-installer/ffmpeg's, else `ffmpeg` on the PATH). */
  ffmpegPath?: string
  /** Called with the child process once spawned (to watch it; it is killed and reaped by this module). */
  onSpawn?: (child: ChildProcess) => void
}

/**
 * Decodes one whole compressed file (WebM/Opus, Ogg/Opus or Vorbis, MP3, FLAC, WAV of any sample
 * format) to 16-bit mono PCM at `sampleRateHz`, through an ffmpeg child process (stdin → stdout).
 * Throws LLMRTC_ERR_AUDIO_INVALID_FORMAT when ffmpeg cannot decode it or it holds no audio, and
 * LLMRTC_ERR_AUDIO_PROCESSING when ffmpeg is missing. ffmpeg is killed on abort and on error.
 */
export async function decodeAudio (input: Buffer, options: DecodeOptions = {}): Promise<Int16Array> {
  options.signal?.throwIfAborted()
  const parts: Buffer[] = []
  let bytes = 0
  for await (const samples of decodeAudioStream(once(input), { ...options, lowLatency: false })) {
    parts.push(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength))
    bytes += samples.byteLength
  }
  options.signal?.throwIfAborted()
  if (bytes === 0) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT('the audio holds no samples')
  const all = Buffer.concat(parts, bytes)
  return new Int16Array(all.buffer, all.byteOffset, bytes / 2)
}

/**
 * Decodes a compressed stream as it arrives (a TTS's MP3 or Ogg/Opus, an upload) and yields 16-bit
 * mono PCM at `sampleRateHz` as ffmpeg produces it. The container is named to ffmpeg and probing cut
 * (`-probesize 32 -analyzeduration 0 -fflags nobuffer`), so the first samples come after ~100 ms, not
 * after ffmpeg buffered seconds of input. Input is written with backpressure. Stopping the iteration,
 * an abort or an error kill ffmpeg, and the iterator ends only once the process is gone.
 */
export async function * decodeAudioStream (input: AsyncIterable<Buffer>, options: DecodeOptions & { lowLatency?: boolean } = {}): AsyncGenerator<Int16Array> {
  const signal = options.signal
  if (signal?.aborted === true) return
  const source = input[Symbol.asyncIterator]()
  const first = await source.next()
  if (first.done === true) {
    await source.return?.()
    return
  }
  const format = options.format ?? detectAudioFormat(first.value)
  const demuxer = format !== undefined ? ['-f', FFMPEG_DEMUXERS[format]] : []
  const fast = options.lowLatency !== false && format !== undefined ? ['-probesize', '32', '-analyzeduration', '0', '-fflags', 'nobuffer'] : []
  const rate = options.sampleRateHz ?? 16000
  const ffmpeg = new FfmpegProcess(options.ffmpegPath ?? ffmpegPath(), [...fast, ...demuxer, '-i', 'pipe:0', '-vn', '-f', 's16le', '-ac', '1', '-ar', String(rate), 'pipe:1'])
  options.onSpawn?.(ffmpeg.child)
  const kill = (): void => { ffmpeg.kill() }
  signal?.addEventListener('abort', kill, { once: true })
  let inputError: unknown
  const pumping = pump(ffmpeg, first.value, source).catch((error: unknown) => { inputError = error; ffmpeg.kill() })
  const maxBytes = options.maxDurationMs !== undefined ? Math.ceil(options.maxDurationMs * rate / 1000) * 2 : Infinity
  let total = 0
  let odd: Buffer | undefined
  try {
    for await (const chunk of ffmpeg.child.stdout as AsyncIterable<Buffer>) {
      // Output already buffered when the abort came is dropped: an aborted stream yields nothing more.
      if (aborted(signal)) break
      let bytes = odd !== undefined ? Buffer.concat([odd, chunk]) : chunk
      odd = bytes.length % 2 === 1 ? Buffer.from(bytes.subarray(bytes.length - 1)) : undefined
      if (odd !== undefined) bytes = bytes.subarray(0, bytes.length - 1)
      total += bytes.length
      if (total > maxBytes) throw new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`the audio is longer than ${options.maxDurationMs} ms`)
      if (bytes.length > 0) yield toSamples(bytes)
    }
    const exit = await ffmpeg.exited
    if (aborted(signal)) return
    if (inputError !== undefined) throw inputError
    if (exit.code !== 0) throw undecodable(exit, format !== undefined ? `the ${format} audio` : 'the audio')
  } finally {
    signal?.removeEventListener('abort', kill)
    ffmpeg.kill()
    // Not waiting for the pump: it may sit on an input that never yields again; it stops at its next chunk.
    void pumping
    await ffmpeg.exited.catch(() => {})
  }
}

/** Writes the input into ffmpeg's stdin, then closes it; stops early when ffmpeg is gone. */
async function pump (ffmpeg: FfmpegProcess, first: Buffer, source: AsyncIterator<Buffer>): Promise<void> {
  try {
    if (!await ffmpeg.write(first)) return
    for (;;) {
      if (ffmpeg.done) return
      const next = await source.next()
      if (next.done === true) break
      if (!await ffmpeg.write(next.value)) return
    }
    ffmpeg.end()
  } finally {
    if (ffmpeg.done) await source.return?.()
  }
}

/** Bytes as samples, viewed in place when aligned. */
function toSamples (bytes: Buffer): Int16Array {
  if (bytes.byteOffset % 2 === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)
  const copy = Buffer.from(bytes)
  return new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2)
}

/** Whether `signal` aborted (a call, so TypeScript does not keep an earlier narrowing across awaits). */
function aborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

async function * once (buffer: Buffer): AsyncIterable<Buffer> {
  yield buffer
}
