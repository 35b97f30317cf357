import { isWav } from '../../lib/audio/wav.js'
import { LLMRTC_ERR_AUDIO_INVALID_FORMAT, clientErrorOf } from '../../lib/errors.js'
import type { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'
import type { AudioMessage } from '../../lib/protocol/client-messages.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * The WebSocket fallback: `audio{data}` carries one whole utterance, which runs one turn. WAV is
 * accepted as is; anything else gets INVALID_AUDIO_FORMAT.
 */
export function handleAudioMessage (message: AudioMessage, ctx: ConnectionContext, pipeline: VoicePipeline): void {
  const data = message.data.startsWith('data:') ? message.data.slice(message.data.indexOf(',') + 1) : message.data
  if (!BASE64.test(data)) {
    ctx.connection.send(clientErrorOf(new LLMRTC_ERR_AUDIO_INVALID_FORMAT('"data" is not base64')))
    return
  }
  const audio = Buffer.from(data, 'base64')
  if (!isWav(audio)) {
    ctx.connection.send(clientErrorOf(new LLMRTC_ERR_AUDIO_INVALID_FORMAT('only WAV (16-bit PCM) is accepted in audio messages on this server')))
    return
  }
  const attachments = [...ctx.session.pendingAttachments.splice(0), ...(message.attachments ?? [])]
  pipeline.runUtterance(audio, attachments)
}
