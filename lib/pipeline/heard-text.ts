import type { WordTimestamp } from '../providers/types.js'

/** One spoken sentence as placed on the output's timeline. */
export interface SpokenSentence {
  text: string
  /** Where its audio starts and ends on the turn's output timeline, in ms (end grows as audio is written). */
  startMs: number
  endMs: number
  /** Word timings relative to the sentence's start, when the TTS gave them. */
  words: WordTimestamp[]
}

/**
 * The part of the assistant's answer the user actually heard, given how many milliseconds of the turn's
 * audio played before a barge-in. Whole sentences that played out count in full; in the sentence that was
 * cut, words whose audio ended count (by word timestamps when known, else in proportion to characters).
 */
export function heardText (sentences: readonly SpokenSentence[], playedMs: number): string {
  const heard: string[] = []
  for (const sentence of sentences) {
    if (playedMs >= sentence.endMs) {
      heard.push(sentence.text)
      continue
    }
    if (playedMs > sentence.startMs) {
      const partial = partialSentence(sentence, playedMs - sentence.startMs)
      if (partial !== '') heard.push(partial)
    }
    break
  }
  return heard.join(' ')
}

function partialSentence (sentence: SpokenSentence, playedMs: number): string {
  if (sentence.words.length > 0) {
    return sentence.words.filter(w => w.endMs <= playedMs).map(w => w.word).join(' ')
  }
  const duration = sentence.endMs - sentence.startMs
  if (duration <= 0) return ''
  const chars = Math.floor(sentence.text.length * playedMs / duration)
  // Only whole words: cut back to the last space before the estimated position.
  const cut = sentence.text.lastIndexOf(' ', chars)
  return cut <= 0 ? '' : sentence.text.slice(0, cut)
}
