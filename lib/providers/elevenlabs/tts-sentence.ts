import type { TTSStreamEvent } from '../types.js'
import { WordAligner, spokenLength } from './alignment.js'
import { end, type Utterance } from './utterances.js'

export interface SentenceOptions {
  sampleRateHz: number
  /** Sent with the context's first message. */
  voiceSettings: Record<string, number | boolean> | undefined
  /** With incomplete alignment, the sentence ends this long after its last audio, in ms. */
  quietMs: number
}

/**
 * Speaks `text` on the utterance's context and yields its audio and word timings as they arrive.
 *
 * ElevenLabs continues a context's generation across texts (prosody flows) and sends its audio as one
 * stream, with no marker where one flushed text's audio ends: under `sync_alignment=true` every chunk
 * carries the alignment of the characters it speaks, so the sentence is complete once its non-space
 * characters are all aligned and the audio reaches the last one's end. Should they never be (text
 * ElevenLabs does not voice), it ends `quietMs` after its last audio. The last sentence then closes the context (`close_context`).
 *
 * The context's messages are queued on the utterance, so audio that arrives after a sentence ended
 * (the silence after its last word) opens the next sentence, and word times count from there.
 *
 * When `signal` aborts (or the consumer stops reading) before the audio ended, the context is closed
 * and nothing more is yielded. An error message or a drop of the socket throws an ElevenLabsError.
 */
export async function * speakSentence (utterance: Utterance, text: string, last: boolean, options: SentenceOptions, signal: AbortSignal | undefined): AsyncGenerator<TTSStreamEvent> {
  const socket = utterance.socket
  const sentence = ++utterance.sentence
  const onAbort = (): void => { utterance.events.offer({ type: 'abort', sentence }) }
  signal?.addEventListener('abort', onAbort, { once: true })
  const aligner = new WordAligner()
  const target = spokenLength(text)
  let quiet: NodeJS.Timeout | undefined
  let ended = false
  try {
    if (signal?.aborted === true) return
    if (!utterance.started) {
      utterance.started = true
      socket.send({ context_id: utterance.serverId, text: ' ', ...(options.voiceSettings !== undefined ? { voice_settings: options.voiceSettings } : {}) })
    }
    // Texts of one context are joined verbatim: each ends with a space. `flush` generates it now.
    socket.send({ context_id: utterance.serverId, text: `${text} `, flush: true })
    let audioMs = 0
    let odd: Buffer | undefined
    for await (const event of utterance.events) {
      if (event.type === 'abort' || event.type === 'quiet') {
        if (event.sentence !== sentence) continue
        if (event.type === 'abort') break
      }
      if (event.type === 'error') {
        ended = true
        utterance.open = false
        throw event.error
      }
      if (event.type !== 'audio') {
        // `final`: the context ended at ElevenLabs (closed for inactivity); `quiet`: see above.
        if (event.type === 'final') utterance.open = false
        const rest = aligner.flush()
        if (rest.length > 0) yield { type: 'words', words: rest }
        ended = true
        break
      }
      let audio = event.audio
      if (odd !== undefined) audio = Buffer.concat([odd, audio])
      // The server may split a sample: hold its first byte until the next chunk.
      odd = audio.length % 2 === 1 ? Buffer.from(audio.subarray(audio.length - 1)) : undefined
      if (odd !== undefined) audio = audio.subarray(0, audio.length - 1)
      const words = event.alignment !== undefined ? aligner.add(event.alignment, audioMs) : []
      audioMs += (audio.length / 2) * 1000 / options.sampleRateHz
      if (audio.length > 0) yield { type: 'audio', audio }
      if (words.length > 0) yield { type: 'words', words }
      // Complete once every character is aligned and the audio reaches the end of the last one.
      if (target > 0 && aligner.spokenChars >= target && audioMs + 0.5 >= aligner.lastCharEndMs) {
        const rest = aligner.flush()
        if (rest.length > 0) yield { type: 'words', words: rest }
        ended = true
        break
      }
      clearTimeout(quiet)
      quiet = setTimeout(() => { utterance.events.offer({ type: 'quiet', sentence }) }, options.quietMs).unref()
    }
    if (ended && last) end(utterance)
  } finally {
    clearTimeout(quiet)
    signal?.removeEventListener('abort', onAbort)
    if (!ended) end(utterance)
  }
}
