/** A frame this much louder than the background may be the start of speech, in dB. */
export const ONSET_RISE_DB = 12
/** …and it must be at least this loud, in dBFS (RMS): quieter sounds are the room, not someone speaking to us. */
export const ONSET_MIN_DBFS = -45
/**
 * Audio the VAD scores after a loudness onset, in ms, before the onset may count as nothing (a knock, a
 * clatter): the VAD starts most real interruptions 20-130 ms after its first loud frame arrives
 * (docs/benchmarks.md, Turn-taking). Counted in stream time, so a VAD running late never cuts it short.
 */
export const LOUDNESS_HOLD_MS = 160
/**
 * …and the sound must have ended: this long below the onset's mark, in ms. A word the VAD is slow to
 * take for speech ("No, …") is still loud then, and the pause holds until the VAD decides; a steady
 * noise becomes the background within a second and ends the hold then.
 */
export const LOUDNESS_QUIET_MS = 50

/** Where a speech detector reports loudness onsets (SpeechDetector.setLoudnessOnset). */
export interface LoudnessListener {
  /** A loudness onset, as its frame arrives (never while the VAD is in speech). */
  onset: () => void
  /** The VAD scored LOUDNESS_HOLD_MS of audio past the last onset and started no speech, and the sound has ended (LOUDNESS_QUIET_MS). */
  lapsed: () => void
}

/** The background never counts as quieter than this, in dBFS (digital silence would make any sound an onset). */
const FLOOR_MIN_DBFS = -70
/** The background is the quietest 10 ms frame of the last BLOCKS × BLOCK_FRAMES frames (1 s). */
const BLOCK_FRAMES = 20
const BLOCKS = 5

const FULL_SCALE_POWER = 32768 * 32768
const powerOf = (dbfs: number): number => FULL_SCALE_POWER * 10 ** (dbfs / 10)
const ONSET_MIN_POWER = powerOf(ONSET_MIN_DBFS)
const FLOOR_MIN_POWER = powerOf(FLOOR_MIN_DBFS)
const ONSET_RISE = 10 ** (ONSET_RISE_DB / 10)

/**
 * The earliest sign that someone started to speak: a frame whose loudness jumps ONSET_RISE_DB above the
 * background and reaches ONSET_MIN_DBFS. It comes 20-100 ms before the VAD can tell speech from the
 * window that holds the onset, and it cannot tell a word from a knock: use it to pause, never to decide.
 *
 * The background is the quietest frame of the last second (minimum statistics): the gaps between words
 * keep it low while someone speaks, and a steady noise (a fan, a car) becomes the background within a
 * second. One onset per loud stretch: after an onset, the level must fall below the mark again before
 * the next one. Per frame it sums squares and compares a few numbers; it allocates nothing.
 */
export class LoudnessOnset {
  /** The quietest frame power of each finished block, oldest overwritten first. */
  readonly #blocks = new Float64Array(BLOCKS).fill(Infinity)
  #block = 0
  #blockMin = Infinity
  #blockFrames = 0
  #loud = false
  #quietSamples = 0

  /** Samples since the last frame that was loud over the background (0 while loud). */
  get quietSamples (): number {
    return this.#quietSamples
  }

  /** Takes one frame (any length, 10 ms is usual); true when it is an onset. */
  push (samples: Int16Array): boolean {
    const n = samples.length
    if (n === 0) return false
    let sum = 0
    for (let i = 0; i < n; i++) {
      const s = samples[i] as number
      sum += s * s
    }
    const power = sum / n
    const loud = power >= ONSET_MIN_POWER && power >= this.#floor() * ONSET_RISE
    const onset = loud && !this.#loud
    this.#loud = loud
    this.#quietSamples = loud ? 0 : this.#quietSamples + n
    this.#remember(power)
    return onset
  }

  #floor (): number {
    let floor = this.#blockMin
    for (let i = 0; i < BLOCKS; i++) floor = Math.min(floor, this.#blocks[i] as number)
    return Math.max(FLOOR_MIN_POWER, floor)
  }

  #remember (power: number): void {
    if (power < this.#blockMin) this.#blockMin = power
    if (++this.#blockFrames < BLOCK_FRAMES) return
    this.#blocks[this.#block] = this.#blockMin
    this.#block = (this.#block + 1) % BLOCKS
    this.#blockMin = Infinity
    this.#blockFrames = 0
  }
}
