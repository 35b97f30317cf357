/**
 * The chaos bench's invariants, as plain checkers with no I/O (bench/chaos.ts feeds them; tests can
 * feed them scripted messages):
 * - `TurnLedger`: from one session's server messages in order, every turn ends in exactly one way
 *   (completed, cancelled by barge-in, an error with a turn code, or cut by the client's own drop), no
 *   turn is left open past a deadline, no more than the jitter buffer's audio arrives after
 *   `tts-cancelled`, and the ledger
 *   knows what the user heard;
 * - `expectedHistory` + `matchHistory`: the session's saved history equals what was heard;
 * - `resourceExcess`: live resources back to a baseline.
 * A broken invariant is reported through the `onViolation` callback (the bench stops at the first).
 */

/** Codes that end a turn: a provider failed or timed out. */
export const TURN_ERROR_CODES = new Set(['STT_ERROR', 'STT_TIMEOUT', 'LLM_ERROR', 'LLM_TIMEOUT', 'TTS_ERROR', 'TTS_TIMEOUT'])

export type TurnEnd = 'completed' | 'cancelled' | 'error' | 'dropped'

export interface LedgerTurn {
  /** 'speech': opened by `speech-end`; 'resumed': an answer the server started after a reconnect. */
  origin: 'speech' | 'resumed'
  openedAt: number
  transcript?: string
  /** The `llm` message's text. */
  answer?: string
  /** `tts-cancelled`'s `heard`, when it came. */
  heard?: string
  end?: TurnEnd
  code?: string
  endedAt?: number
}

export interface LedgerOptions {
  /** A turn open longer than this, in ms, broke the first invariant (a caller left in silence). */
  turnDeadlineMs: number
  /**
   * More loud 10 ms frames than this after `tts-cancelled` (and before the next turn's speech) is a
   * violation. Counted in audio, not wall time: a loaded client's event loop delivers frames late, the
   * message too; what may still come is what the receiver's jitter buffer held at the cut.
   */
  loudFramesAfterCancel: number
  onViolation: (what: string) => void
  now?: () => number
}

interface Message { type: string, [key: string]: unknown }

/**
 * One session's turns, from the messages its client received (over every connection it had) and the
 * client's own drops. Counters say how each turn ended.
 */
export class TurnLedger {
  readonly turns: LedgerTurn[] = []
  readonly ends: Record<TurnEnd, number> = { completed: 0, cancelled: 0, error: 0, dropped: 0 }
  readonly errorCodes: Record<string, number> = {}
  /** Invariant checks that held (each ended turn, each message checked against the open turn, each frame after a cut). */
  checks = 0
  #open: LedgerTurn | undefined
  #cancelledAt: number | undefined
  #loudAfterCancel = 0
  /** The most loud frames heard after one `tts-cancelled`. */
  maxLoudFramesAfterCancel = 0
  #resumedWindow = false
  /** Between `speech-start` and `speech-end`: the user is speaking and no turn is open for it yet. */
  #speaking = false
  #floodUntil = 0
  readonly #o: LedgerOptions
  readonly #now: () => number

  constructor (options: LedgerOptions) {
    this.#o = options
    this.#now = options.now ?? (() => performance.now())
  }

  get open (): LedgerTurn | undefined { return this.#open }

  /** The client flooded: `RATE_LIMITED` is expected until `untilMs` (performance.now() time). */
  flooding (untilMs: number): void { this.#floodUntil = untilMs }

  /** The client reconnected: until its next speech, the server may answer a question left pending. */
  reconnected (): void { this.#resumedWindow = true }

  /**
   * The client dropped its connection, hung up, or the server closed it: an open turn ends 'dropped'.
   * So does speech the user had begun (`speech-start` with no `speech-end` yet): the server may still
   * end that utterance and answer it after the cut, and nobody knows what of it reached the client.
   */
  dropped (): void {
    if (this.#open === undefined && this.#speaking) this.#open = { origin: 'speech', openedAt: this.#now() }
    if (this.#open !== undefined) this.#close('dropped')
    this.#speaking = false
    this.#cancelledAt = undefined
  }

  /** A loud 10 ms frame of the server's audio arrived. */
  loudFrame (): void {
    const cut = this.#cancelledAt
    if (cut === undefined) return
    const frames = ++this.#loudAfterCancel
    if (frames > this.maxLoudFramesAfterCancel) this.maxLoudFramesAfterCancel = frames
    if (frames === this.#o.loudFramesAfterCancel + 1) this.#violate(`${frames * 10} ms of audio after tts-cancelled (the first ${((this.#now() - cut) / 1000).toFixed(2)} s after it)`)
    else this.checks++
  }

  /** Call periodically: a turn open past the deadline breaks the first invariant. */
  tick (): void {
    const open = this.#open
    if (open !== undefined && this.#now() - open.openedAt > this.#o.turnDeadlineMs) {
      this.#violate(`a turn open for ${((this.#now() - open.openedAt) / 1000).toFixed(1)} s without an end (transcript ${JSON.stringify(open.transcript)})`)
      this.#open = undefined
    }
  }

  message (m: Message): void {
    const open = this.#open
    switch (m.type) {
      case 'speech-start':
        this.#resumedWindow = false
        this.#speaking = true
        if (open !== undefined) this.#close('cancelled')
        return
      case 'speech-end':
        this.#resumedWindow = false
        this.#speaking = false
        if (open !== undefined) this.#violate('speech-end while a turn is open (no speech-start ended it)')
        this.#open = { origin: 'speech', openedAt: this.#now() }
        this.#cancelledAt = undefined
        return
      case 'transcript': {
        if (m.isFinal !== true) return
        // After a resume, the server may answer the question its dead predecessor left: a turn of its own.
        const turn = open ?? this.#resumed(`a final transcript (${JSON.stringify(m.text)})`)
        if (turn === undefined) return
        if (turn.transcript !== undefined) return this.#violate('two final transcripts in one turn')
        turn.transcript = String(m.text)
        this.checks++
        return
      }
      case 'llm':
      case 'tts-start': {
        const turn = open ?? this.#resumed(m.type)
        if (turn === undefined) return
        if (m.type === 'llm') turn.answer = String(m.text)
        else this.#cancelledAt = undefined
        this.checks++
        return
      }
      case 'tts-cancelled':
        if (open === undefined) return this.#violate('tts-cancelled outside a turn')
        open.heard = String(m.heard ?? '')
        this.#cancelledAt = this.#now()
        this.#loudAfterCancel = 0
        this.checks++
        return
      case 'tts-complete':
        if (open === undefined) return this.#violate('tts-complete outside a turn (a second end?)')
        this.#close('completed')
        return
      case 'error': {
        const code = String(m.code)
        if (code === 'RATE_LIMITED' && this.#now() <= this.#floodUntil) { this.checks++; return }
        if (!TURN_ERROR_CODES.has(code)) return this.#violate(`unexpected error ${code}: ${String(m.message)}`)
        if (open === undefined) return this.#violate(`error ${code} outside a turn (a second end?)`)
        open.code = code
        this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1
        this.#close('error')
      }
    }
  }

  #resumed (what: string): LedgerTurn | undefined {
    if (!this.#resumedWindow) {
      this.#violate(`${what} outside a turn`)
      return undefined
    }
    this.#resumedWindow = false
    this.#open = { origin: 'resumed', openedAt: this.#now() }
    return this.#open
  }

  #close (end: TurnEnd): void {
    const turn = this.#open
    if (turn === undefined) return
    turn.end = end
    turn.endedAt = this.#now()
    this.ends[end]++
    this.checks++
    this.turns.push(turn)
    this.#open = undefined
  }

  #violate (what: string): void {
    this.#o.onViolation(what)
  }
}

/** One expected history entry: `text` undefined matches any text; `optional` may be absent. */
export interface ExpectedEntry { role: 'user' | 'assistant', text: string | undefined, optional: boolean }

/**
 * What the session's history must hold, from its ended turns (docs/protocol.md, Barge-in and Voice turn):
 * each final transcript as a user message; a completed turn's answer; a cancelled turn's heard words
 * (none when nothing was heard); nothing for a failed turn. A turn cut by a drop is uncertain (the
 * transcript may have been sent but not received, part of the answer heard): its entries are optional
 * and of any text. A turn cancelled before anything was heard may carry its words over into the next
 * transcript (the server then removes its user message): optional.
 */
export function expectedHistory (turns: readonly LedgerTurn[]): ExpectedEntry[] {
  const out: ExpectedEntry[] = []
  for (const turn of turns) {
    if (turn.end === 'dropped') {
      out.push({ role: 'user', text: undefined, optional: true }, { role: 'assistant', text: undefined, optional: true })
      continue
    }
    const heardNothing = turn.end === 'cancelled' && (turn.heard ?? '') === ''
    if (turn.transcript !== undefined) out.push({ role: 'user', text: turn.transcript, optional: heardNothing })
    if (turn.end === 'completed' && turn.answer !== undefined && turn.answer !== '') out.push({ role: 'assistant', text: turn.answer, optional: false })
    if (turn.end === 'cancelled' && !heardNothing) out.push({ role: 'assistant', text: turn.heard, optional: false })
  }
  return out
}

/**
 * Whether `actual` (user and assistant messages, in order) matches `expected`. Returns undefined when
 * it matches, else a description of both lists.
 */
export function matchHistory (expected: readonly ExpectedEntry[], actual: ReadonlyArray<{ role: string, content: string }>): string | undefined {
  const memo = new Map<number, boolean>()
  let furthest = 0
  const fits = (e: ExpectedEntry, a: { role: string, content: string }): boolean =>
    e.role === a.role && (e.text === undefined || normalize(a.content) === normalize(e.text))
  const go = (i: number, j: number): boolean => {
    const key = i * 100_000 + j
    const known = memo.get(key)
    if (known !== undefined) return known
    furthest = Math.max(furthest, j)
    let ok: boolean
    if (i === expected.length) ok = j === actual.length
    else {
      const e = expected[i] as ExpectedEntry
      const a = actual[j]
      ok = (a !== undefined && fits(e, a) && go(i + 1, j + 1)) || (e.optional && go(i + 1, j))
    }
    memo.set(key, ok)
    return ok
  }
  if (go(0, 0)) return undefined
  const show = (list: ReadonlyArray<{ role: string, text?: string, content?: string, optional?: boolean }>): string =>
    list.map(x => `${x.role}${x.optional === true ? '?' : ''}: ${JSON.stringify(x.text ?? x.content ?? '*')}`).join(' | ')
  return `history does not match what was heard (first unmatched saved entry #${furthest}).\n  expected: ${show(expected)}\n  saved:    ${show(actual)}`
}

function normalize (text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

export type ResourceCounts = Record<string, number>

/** Types of `now` above `baseline` by more than their tolerance (`default` for the others). */
export function resourceExcess (baseline: ResourceCounts, now: ResourceCounts, tolerance: Record<string, number>): Record<string, { baseline: number, now: number }> {
  const excess: Record<string, { baseline: number, now: number }> = {}
  for (const [type, count] of Object.entries(now)) {
    const allowed = (baseline[type] ?? 0) + (tolerance[type] ?? tolerance.default ?? 0)
    if (count > allowed) excess[type] = { baseline: baseline[type] ?? 0, now: count }
  }
  return excess
}
