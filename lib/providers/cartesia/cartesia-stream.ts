import { AsyncQueue } from '../../streams/async-queue.js'
import type { TTSStreamEvent, WordTimestamp } from '../types.js'
import type { CartesiaConnection, ContextEvent } from './cartesia-connection.js'
import type { UtteranceContext } from './cartesia-contexts.js'
import { CartesiaError } from './cartesia-error.js'
import { describeError, type WireWordTimestamps } from './cartesia-protocol.js'

/**
 * Speaks `text` on `context` and yields its audio and word timings as they arrive.
 *
 * Cartesia continues a context's generation across inputs (prosody flows) and sends its audio as one
 * stream. To tell where one sentence's audio ends, every input that more may follow (`last` false) is
 * followed by a flush (an empty transcript with `flush: true`): its audio ends with `flush_done` of
 * that flush's id. The last input goes with `continue: false`, and its audio ends with `done`.
 *
 * When `signal` aborts (or the consumer stops reading) before the audio ended, the context is
 * cancelled (`{context_id, cancel: true}`) and nothing more is yielded. An `error` message or a drop
 * of the connection throws a CartesiaError.
 */
export async function * speakOnContext (connection: CartesiaConnection, context: UtteranceContext, text: string, last: boolean, signal: AbortSignal | undefined): AsyncGenerator<TTSStreamEvent> {
  const sampleRateHz = context.fields.output_format.sample_rate
  const events = new AsyncQueue<ContextEvent>(Infinity, signal)
  const unsubscribe = connection.subscribe(context.serverId, (event) => { events.offer(event) })
  let ended = false
  try {
    // Transcripts of one context are joined verbatim: a sentence that more may follow ends with a space.
    connection.send({ ...context.fields, context_id: context.serverId, transcript: last ? text : `${text} `, continue: !last })
    if (last) {
      context.open = false
    } else {
      connection.send({ ...context.fields, context_id: context.serverId, transcript: '', continue: true, flush: true })
      context.flushes++
    }
    const flushId = context.flushes
    const startMs = context.audioMs
    let timestampBaseMs: number | undefined
    let odd: Buffer | undefined
    for await (const event of events) {
      if (event.type === 'dropped') {
        ended = true
        context.open = false
        throw event.error
      }
      const message = event.message
      if (message.type === 'chunk') {
        let audio = Buffer.from(message.data, 'base64')
        if (odd !== undefined) audio = Buffer.concat([odd, audio])
        odd = audio.length % 2 === 1 ? audio.subarray(audio.length - 1) : undefined
        if (odd !== undefined) audio = audio.subarray(0, audio.length - 1)
        context.audioMs += (audio.length / 2) * 1000 / sampleRateHz
        if (audio.length > 0) yield { type: 'audio', audio }
      } else if (message.type === 'timestamps') {
        const timing = message.word_timestamps
        if (timing === undefined || timing.words.length === 0) continue
        // Cartesia counts from the context's start; should a server count from the input's start
        // instead, the first word would come before the sentence's offset: then use it as is.
        timestampBaseMs ??= (timing.start[0] ?? 0) * 1000 + 50 < startMs ? 0 : startMs
        yield { type: 'words', words: toWords(timing, timestampBaseMs) }
      } else if (message.type === 'flush_done') {
        if (!last && message.flush_id >= flushId) {
          ended = true
          return
        }
      } else if (message.type === 'done') {
        ended = true
        context.open = false
        return
      } else {
        ended = true
        context.open = false
        throw new CartesiaError(`Cartesia answered with an error: ${describeError(message)}`, { code: 'CARTESIA_ERROR', status: message.status_code, body: message })
      }
    }
  } finally {
    unsubscribe()
    events.abort()
    if (!ended) cancel(connection, context)
  }
}

/** Stops the context's generation at Cartesia; it takes no more inputs. */
function cancel (connection: CartesiaConnection, context: UtteranceContext): void {
  context.open = false
  if (!connection.isOpen || connection.generation !== context.generation) return
  try {
    connection.send({ context_id: context.serverId, cancel: true })
  } catch {
    // The socket closed in between: nothing is generating any more.
  }
}

/** Cartesia's word timings (seconds from the context's start) in ms from the sentence's start. */
function toWords (timing: WireWordTimestamps, baseMs: number): WordTimestamp[] {
  const words: WordTimestamp[] = []
  for (let i = 0; i < timing.words.length; i++) {
    const word = timing.words[i] as string
    const startMs = Math.max(0, Math.round((timing.start[i] ?? 0) * 1000 - baseMs))
    const endMs = Math.max(startMs, Math.round((timing.end[i] ?? 0) * 1000 - baseMs))
    words.push({ word, startMs, endMs })
  }
  return words
}
