import type { AudioOutput } from '../transport/media-transport.js'

/** The model's audio item that was playing when playback was cut, and how much of it was heard. */
export interface PlayedItem {
  itemId: string
  contentIndex: number
  /** Milliseconds of the item's audio that played out (what `conversation.item.truncate` takes). */
  audioEndMs: number
  /** Milliseconds of the item's audio that were queued and dropped unplayed. */
  droppedMs: number
}

interface ItemSpan { itemId: string, contentIndex: number, startMs: number, endMs: number }

/**
 * Truncation bookkeeping for one output: a timeline of the model's items as written to the paced output
 * (each item's first and last millisecond). At a cut, `clear()` says how much queued audio was dropped;
 * what was written minus what was dropped is what played, and the item under that point is the one the
 * user was hearing. Only this relay writes to the output, so the timeline is the output's own.
 */
export class PlaybackPosition {
  #writtenMs = 0
  #spans: ItemSpan[] = []

  /** Queues `pcm` (mono s16 at `sampleRateHz`) on `output` as part of `itemId`. */
  write (output: AudioOutput, pcm: Int16Array, sampleRateHz: number, itemId: string, contentIndex: number): void {
    if (pcm.length === 0) return
    const ms = pcm.length * 1000 / sampleRateHz
    const last = this.#spans.at(-1)
    if (last !== undefined && last.itemId === itemId && last.contentIndex === contentIndex) last.endMs += ms
    else this.#spans.push({ itemId, contentIndex, startMs: this.#writtenMs, endMs: this.#writtenMs + ms })
    this.#writtenMs += ms
    output.write(pcm, sampleRateHz)
    // Spans that ended long ago are no longer needed (keep the last few).
    if (this.#spans.length > 32) this.#spans.splice(0, this.#spans.length - 8)
  }

  /**
   * Drops the queued audio now and returns the item being heard at the cut: the last one that had started
   * playing (else the first queued, heard for 0 ms). Undefined when the relay wrote nothing since the last cut.
   */
  cut (output: AudioOutput): PlayedItem | undefined {
    const droppedMs = Math.min(output.clear(), this.#writtenMs)
    const playedMs = this.#writtenMs - droppedMs
    this.#writtenMs = playedMs
    const spans = this.#spans
    this.#spans = []
    const heard = spans.filter(span => span.startMs < playedMs).at(-1) ?? spans[0]
    if (heard === undefined) return undefined
    return {
      itemId: heard.itemId,
      contentIndex: heard.contentIndex,
      audioEndMs: Math.round(Math.max(0, Math.min(playedMs, heard.endMs) - heard.startMs)),
      droppedMs: Math.round(droppedMs)
    }
  }
}
