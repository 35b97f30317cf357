import type { STTWord } from '../types.js'

/** A word as Deepgram gives it (prerecorded and live `alternatives[].words`): times in seconds. */
export interface DeepgramWord {
  word?: string | undefined
  /** With `smart_format` or `punctuate`: the word with its punctuation and capitals. */
  punctuated_word?: string | undefined
  start?: number | undefined
  end?: number | undefined
  confidence?: number | undefined
}

/**
 * Deepgram's words as llmrtc's (ms, the punctuated spelling when there is one), or undefined when there
 * are none. Live times count from the first byte of the stream, which is the first byte of the utterance:
 * a live connection carries one utterance, so they need no shifting.
 */
export function toSTTWords (words: readonly DeepgramWord[] | undefined): STTWord[] | undefined {
  if (words === undefined || words.length === 0) return undefined
  const out: STTWord[] = []
  for (const w of words) {
    const word = w.punctuated_word ?? w.word
    if (word === undefined || typeof w.start !== 'number' || typeof w.end !== 'number') continue
    out.push({ word, startMs: Math.round(w.start * 1000), endMs: Math.round(w.end * 1000), ...(typeof w.confidence === 'number' ? { confidence: w.confidence } : {}) })
  }
  return out.length > 0 ? out : undefined
}
