import type { Clock, TimerHandle } from '../clock.js'
import { PcmBuffer } from '../audio/pcm-buffer.js'
import type { Logger } from '../logger.js'
import { BackchannelMatcher, countWords } from './backchannels.js'
import type { ResolvedInterruptionOptions } from './options.js'

/** Silence after which a possible interruption is judged (a blip resumes the answer, words are transcribed), in ms. */
export const JUDGE_AFTER_SILENCE_MS = 96
/**
 * Silence after an onset that was never confirmed as speech before the answer plays on, in ms. Longer
 * than JUDGE_AFTER_SILENCE_MS: a burst of lost or late packets in the user's uplink reaches the VAD as
 * silence (the receiver's jitter buffer conceals it, fading out), often 100 ms or more early in a word,
 * and resuming there would play a snatch of the answer over someone who is starting to interrupt. A
 * 150 ms cough still resumes well within the 600 ms gap budget (docs/benchmarks.md, Turn-taking).
 */
export const BLIP_HOLD_MS = 160
/** Confirmed speech this long is transcribed once while it goes on, so a backchannel can be let through before it ends, in ms. */
export const EARLY_CHECK_MS = 400
/** Speech this long during the answer interrupts without waiting for words (no backchannel lasts so long), in ms. */
export const LONG_SPEECH_MS = 1200
/** The VAD window that started the speech: it counts as speech. */
const ONSET_MS = 32

/** What the judge needs from the pipeline. */
export interface InterruptionHost {
  /** Pauses the answer's audio (in `pause` mode). */
  pause: () => void
  /** Plays the answer on from where it paused. */
  resume: () => void
  /** The speech is an interruption: cancel the turn, give the user the floor. */
  interrupt: () => void
  /** One quick transcription of the speech so far (a buffered STT). */
  transcribe: (utterance: Int16Array, signal: AbortSignal) => Promise<string>
  /** A streaming STT hears the speech (its interim results judge it). */
  readonly streaming: boolean
}

/** Speech that started while a turn runs, and is not (yet) an interruption. */
interface Candidate {
  /** Audio since the onset, in ms (confirmed speech only). */
  speechMs: number
  confirmed: boolean
  /** The words heard so far (an interim transcript, or a quick transcription at a pause). */
  text: string | undefined
  /** Speech since `text` was judged. */
  dirty: boolean
  /** A quick transcription of the speech so far, in flight. */
  checking: AbortController | undefined
  /** The early transcription (EARLY_CHECK_MS) was made. */
  checkedEarly: boolean
  /** The words so far are only backchannels and the answer plays on: more of the same speech does not pause it. */
  playingOn: boolean
  /** The speech so far (pre-roll and confirmed audio), for a quick transcription while it goes on. */
  audio: PcmBuffer
  resumeTimer: TimerHandle | undefined
}

/**
 * Judges speech over the assistant's answer (interruption modes `pause` and `confirm`): a blip, a
 * backchannel ("mm-hmm", "I see") or a pause that outlasts `resumeAfterMs` lets the answer play on;
 * `minWords` words that are not only backchannels, or speech longer than LONG_SPEECH_MS, interrupt it.
 * One candidate at a time, the current utterance's; every decision reaches the pipeline through the host.
 */
export class InterruptionJudge {
  readonly #options: ResolvedInterruptionOptions
  readonly #backchannels: BackchannelMatcher
  readonly #clock: Clock
  readonly #log: Logger
  readonly #host: InterruptionHost
  #candidate: Candidate | undefined

  constructor (options: ResolvedInterruptionOptions, language: string, clock: Clock, log: Logger, host: InterruptionHost) {
    this.#options = options
    this.#backchannels = new BackchannelMatcher(language, options.backchannels)
    this.#clock = clock
    this.#log = log
    this.#host = host
  }

  /** True while speech over the answer is being judged. */
  get pending (): boolean { return this.#candidate !== undefined }

  /** Speech started over the answer (`preRoll`: its audio so far): pause it (in `pause` mode) and start judging. */
  open (preRoll: Int16Array): void {
    this.drop()
    const audio = new PcmBuffer(preRoll.length + 16_000)
    audio.append(preRoll)
    const candidate: Candidate = { speechMs: ONSET_MS, confirmed: false, text: undefined, dirty: false, checking: undefined, checkedEarly: false, playingOn: false, audio, resumeTimer: undefined }
    this.#candidate = candidate
    this.#pause()
    candidate.resumeTimer = this.#clock.setTimeout(() => {
      candidate.resumeTimer = undefined
      // A pause that has not become an interruption by now was not one: the answer plays on.
      if (this.#candidate === candidate) this.#host.resume()
    }, this.#options.resumeAfterMs)
  }

  /** Stops judging (decided, or the utterance went away). */
  drop (): void {
    const candidate = this.#candidate
    if (candidate === undefined) return
    this.#candidate = undefined
    candidate.checking?.abort()
    if (candidate.resumeTimer !== undefined) this.#clock.clearTimeout(candidate.resumeTimer)
  }

  /** An interruption needs `minWords` words that are not all backchannels (`minWords: 0`: any speech). */
  interrupts (text: string): boolean {
    const minWords = this.#options.minWords
    if (minWords === 0) return true
    return countWords(text) >= minWords && !this.#backchannels.isBackchannel(text)
  }

  /** Speech confirmed by the VAD (16 kHz samples). */
  confirmed (samples: Int16Array, ms: number): void {
    const candidate = this.#candidate
    if (candidate === undefined) return
    candidate.confirmed = true
    candidate.dirty = true
    candidate.speechMs += ms
    candidate.audio.append(samples)
    const o = this.#options
    if (candidate.speechMs >= o.minSpeechMs && (o.minWords === 0 || candidate.speechMs >= LONG_SPEECH_MS)) {
      this.#decide(true)
      return
    }
    if (!candidate.playingOn) this.#pause()
    // A backchannel ("mm-hmm") is let through while it is still being said, as people do.
    if (!candidate.checkedEarly && candidate.speechMs >= EARLY_CHECK_MS && !this.#host.streaming) {
      candidate.checkedEarly = true
      this.#check(candidate, candidate.audio.view())
    }
  }

  /** Speech again after a pause: the words so far no longer say it all. */
  resumed (): void {
    const candidate = this.#candidate
    if (candidate === undefined) return
    candidate.dirty = true
    candidate.playingOn = false
    this.#pause()
  }

  /** Interim words of a streaming STT. */
  words (text: string): void {
    const candidate = this.#candidate
    if (candidate === undefined) return
    candidate.text = text
    if (candidate.speechMs >= this.#options.minSpeechMs && this.interrupts(text)) this.#decide(true)
    else if (this.#backchannels.isBackchannel(text)) this.#playOn(candidate)
  }

  /** A window of silence in the speech (`utterance`: the audio so far, once confirmed). */
  paused (silenceMs: number, utterance: Int16Array | undefined): void {
    const candidate = this.#candidate
    if (candidate === undefined || silenceMs < JUDGE_AFTER_SILENCE_MS) return
    if (!candidate.confirmed) {
      // A cough, a knock, a short "hm": never confirmed as speech.
      if (silenceMs >= BLIP_HOLD_MS) this.#host.resume()
      return
    }
    if (!candidate.dirty && candidate.text !== undefined) {
      this.#playOn(candidate)
      return
    }
    if (this.#host.streaming) {
      // Interim results judge as they come; a pause with no words yet waits for them.
      if (candidate.text !== undefined) {
        candidate.dirty = false
        this.#playOn(candidate)
      }
      return
    }
    if (candidate.checking !== undefined || utterance === undefined) return
    this.#check(candidate, utterance)
  }

  /** One quick transcription of the speech so far: words interrupt, anything else lets the answer play on. */
  #check (candidate: Candidate, utterance: Int16Array): void {
    candidate.checking?.abort()
    const check = candidate.checking = new AbortController()
    candidate.dirty = false
    this.#host.transcribe(utterance, check.signal).then((text) => {
      if (candidate.checking === check) candidate.checking = undefined
      if (this.#candidate !== candidate || check.signal.aborted) return
      candidate.text = text.trim()
      if (this.interrupts(candidate.text)) this.#decide(true)
      else if (!candidate.dirty || this.#backchannels.isBackchannel(candidate.text)) this.#playOn(candidate)
    }, (err: unknown) => {
      if (candidate.checking === check) candidate.checking = undefined
      if (this.#candidate !== candidate || check.signal.aborted) return
      this.#log.debug({ err }, 'transcribing a possible interruption failed: the answer plays on')
      this.#host.resume()
    })
  }

  /**
   * The speech ended before it was decided. Resolves with its words when they interrupt (the caller runs
   * its turn), or undefined when the answer plays on. `words()` gives the whole transcript when needed.
   */
  async ended (words: () => Promise<string>): Promise<string | undefined> {
    const candidate = this.#candidate
    if (candidate === undefined) return undefined
    if (!candidate.confirmed) {
      this.#host.resume()
      this.drop()
      return undefined
    }
    candidate.checking?.abort()
    let text: string | undefined
    try {
      text = !candidate.dirty && candidate.text !== undefined ? candidate.text : await words()
    } catch {
      text = undefined
    }
    if (this.#candidate !== candidate) return undefined
    if (text !== undefined && this.interrupts(text.trim())) {
      this.drop()
      return text
    }
    this.#host.resume()
    this.drop()
    return undefined
  }

  /** Not an interruption (so far): the answer plays on, also while the same speech goes on. */
  #playOn (candidate: Candidate): void {
    candidate.playingOn = true
    this.#host.resume()
  }

  #decide (interrupts: boolean): void {
    if (!interrupts) return
    this.drop()
    this.#host.interrupt()
  }

  #pause (): void {
    if (this.#options.mode === 'pause') this.#host.pause()
  }
}
