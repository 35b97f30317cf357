import { decodeAudio, detectAudioFormat } from '../../lib/audio/ffmpeg.js'
import { decodeWav, encodeWav, wavDurationMs } from '../../lib/audio/wav.js'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT, LLMRTC_ERR_AUDIO_PROCESSING, LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE, clientErrorOf } from '../../lib/errors.js'
import type { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'
import type { VisionAttachment } from '../../lib/providers/types.js'
import type { AudioMessage } from '../../lib/protocol/client-messages.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'
import { linkSignals } from '../../lib/streams/link-signals.js'

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
/** Rate compressed utterances are decoded to: what VAD and STT run on. */
const DECODE_RATE_HZ = 16_000
/** Limits of one `audio` message (the options `maxAudioBytes` and `maxAudioMs`). */
export interface AudioLimits {
  /** Largest `data`, in bytes of base64 (a data URI's prefix not counted). */
  maxAudioBytes: number
  /** Longest utterance, in ms: a small upload can hold hours of Opus, so the decoded length is checked too. */
  maxAudioMs: number
}

export const DEFAULT_AUDIO_LIMITS: AudioLimits = { maxAudioBytes: 3 * 1024 * 1024, maxAudioMs: 60_000 }
/** Longest a decode may take, in ms. */
const DECODE_TIMEOUT_MS = 15_000

/** Decodes still running per connection: utterances run in the order they were sent. */
const pending = new WeakMap<object, Promise<void>>()

/**
 * The WebSocket fallback: `audio{data}` carries one whole utterance, which runs one turn. A 16-bit PCM
 * WAV is used as is; WebM, Ogg, MP3, FLAC and WAV of other sample formats are decoded by ffmpeg to
 * 16 kHz mono first (the turn starts when decoding ends). Anything else gets INVALID_AUDIO_FORMAT
 * without reaching ffmpeg. Data over `maxAudioBytes` gets MESSAGE_TOO_LARGE before it is decoded; audio
 * longer than `maxAudioMs` gets INVALID_AUDIO_FORMAT (a WAV from its header, other formats while decoding).
 */
export function handleAudioMessage (message: AudioMessage, ctx: ConnectionContext, pipeline: VoicePipeline, limits: AudioLimits = DEFAULT_AUDIO_LIMITS): void {
  const data = message.data.startsWith('data:') ? message.data.slice(message.data.indexOf(',') + 1) : message.data
  if (data.length > limits.maxAudioBytes) {
    ctx.connection.send(clientErrorOf(new LLMRTC_ERR_PROTOCOL_MESSAGE_TOO_LARGE(data.length, limits.maxAudioBytes)))
    return
  }
  if (!BASE64.test(data)) {
    ctx.connection.send(clientErrorOf(new LLMRTC_ERR_AUDIO_INVALID_FORMAT('"data" is not base64')))
    return
  }
  const audio = Buffer.from(data, 'base64')
  const format = detectAudioFormat(audio)
  if (format === undefined) {
    ctx.connection.send(clientErrorOf(new LLMRTC_ERR_AUDIO_INVALID_FORMAT('expected WAV, WebM, Ogg, MP3 or FLAC audio')))
    return
  }
  const attachments = [...ctx.session.pendingAttachments.splice(0), ...(message.attachments ?? [])]
  const previous = pending.get(ctx.connection)
  const pcm16Ms = format === 'wav' ? pcm16WavDurationMs(audio) : undefined
  if (pcm16Ms !== undefined && pcm16Ms > limits.maxAudioMs) {
    ctx.connection.send(clientErrorOf(tooLong(limits.maxAudioMs)))
    return
  }
  const pcm16 = pcm16Ms !== undefined
  if (pcm16 && previous === undefined) {
    pipeline.runUtterance(audio, attachments)
    return
  }
  // One decode at a time per connection, and none for an utterance that a newer one replaced while it
  // waited (as the pipeline replaces a turn that has not started): a flood costs one ffmpeg, not one each.
  const run: Promise<void> = (previous ?? Promise.resolve()).then(async () => {
    if (pending.get(ctx.connection) !== run) return
    const decoding = pcm16 ? Promise.resolve(audio) : decodeToWav(audio, limits.maxAudioMs, ctx.signal)
    await utteranceReady(decoding, ctx, pipeline, attachments)
  })
  pending.set(ctx.connection, run)
  void run.finally(() => { if (pending.get(ctx.connection) === run) pending.delete(ctx.connection) })
}

async function utteranceReady (decoding: Promise<Buffer>, ctx: ConnectionContext, pipeline: VoicePipeline, attachments: VisionAttachment[]): Promise<void> {
  let wav: Buffer
  try {
    wav = await decoding
  } catch (error) {
    if (ctx.signal.aborted) return
    ctx.log.debug({ err: error }, 'audio message could not be decoded')
    ctx.connection.send(clientErrorOf(error))
    return
  }
  if (!ctx.signal.aborted) pipeline.runUtterance(wav, attachments)
}

/** The utterance as a 16 kHz mono WAV, decoded by ffmpeg. */
async function decodeToWav (audio: Buffer, maxAudioMs: number, connection: AbortSignal): Promise<Buffer> {
  const deadline = AbortSignal.timeout(DECODE_TIMEOUT_MS)
  const link = linkSignals(connection, deadline)
  try {
    const samples = await decodeAudio(audio, { sampleRateHz: DECODE_RATE_HZ, maxDurationMs: maxAudioMs, signal: link.signal })
    return encodeWav(samples, DECODE_RATE_HZ)
  } catch (error) {
    if (deadline.aborted && !connection.aborted) throw new LLMRTC_ERR_AUDIO_PROCESSING(`decoding took longer than ${DECODE_TIMEOUT_MS} ms`, { cause: error })
    throw error
  } finally {
    link.dispose()
  }
}

/** The duration of a 16-bit PCM WAV, or undefined for any other WAV (ffmpeg decodes those). */
function pcm16WavDurationMs (audio: Buffer): number | undefined {
  try {
    return wavDurationMs(decodeWav(audio))
  } catch {
    return undefined
  }
}

function tooLong (maxAudioMs: number): Error {
  // The same words as ffmpeg's limit (lib/audio/ffmpeg.ts), whatever the format.
  return new LLMRTC_ERR_AUDIO_INVALID_FORMAT(`the audio is longer than ${maxAudioMs} ms`)
}
