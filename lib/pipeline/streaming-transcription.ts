import type { STTConfig, STTResult, STTWord } from '../providers/types.js'
import { AsyncQueue } from '../streams/async-queue.js'
import { linkSignals } from '../streams/link-signals.js'
import { SPEECH_SAMPLE_RATE_HZ } from '../vad/speech-events.js'

/**
 * A streaming STT session for one utterance: audio is fed from the moment speech is confirmed, interim
 * results are reported as they come, and `final()` resolves with the joined final text once the input
 * was closed at the end of speech, with the final results' words when the provider gives them (their
 * times count from the utterance's first byte, which is the stream's). Abort (barge-in of a blip, session
 * close) ends it quietly.
 */
export class StreamingTranscription {
  readonly #audio: AsyncQueue<Buffer>
  readonly #controller = new AbortController()
  readonly #done: Promise<STTResult>

  constructor (transcribeStream: (audio: AsyncIterable<Buffer>, config: STTConfig) => AsyncIterable<STTResult>, onInterim: (text: string) => void, signal: AbortSignal) {
    // `signal` lives as long as the session: stop following it when this utterance's transcription ends.
    const link = linkSignals(signal, this.#controller.signal)
    const joined = link.signal
    const audio = this.#audio = new AsyncQueue<Buffer>(Infinity, joined)
    this.#done = (async () => {
      const finals: string[] = []
      const words: STTWord[] = []
      try {
        for await (const result of transcribeStream(audio, { sampleRateHz: SPEECH_SAMPLE_RATE_HZ, interimResults: true, signal: joined })) {
          if (joined.aborted) break
          const text = result.text.trim()
          if (result.isFinal) {
            if (text !== '') finals.push(text)
            if (result.words !== undefined) words.push(...result.words)
          } else if (text !== '') {
            onInterim([...finals, text].join(' '))
          }
        }
      } finally {
        link.dispose()
      }
      const text = finals.join(' ')
      return { text, isFinal: true, ...(words.length > 0 && text !== '' ? { words } : {}) }
    })()
    // Until someone awaits final(), a failure must not become an unhandled rejection.
    this.#done.catch(() => {})
  }

  /** Feeds 16 kHz mono PCM (copied: the caller may reuse its buffer). */
  write (samples: Int16Array): void {
    this.#audio.offer(Buffer.from(samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength)))
  }

  /** End of speech: no more audio. */
  end (): void {
    this.#audio.close()
  }

  abort (): void {
    this.#controller.abort()
  }

  /** The final transcript (and its words); rejects with the provider's error, or the abort reason when `signal` fires. */
  async final (signal: AbortSignal): Promise<STTResult> {
    signal.throwIfAborted()
    return await new Promise<STTResult>((resolve, reject) => {
      const onAbort = (): void => { this.abort(); reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#done.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
    })
  }
}
