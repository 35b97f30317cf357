import { randomUUID } from 'node:crypto'
import type { GenerationFields } from './cartesia-protocol.js'

/** Where one utterance (the sentences sharing a `TTSConfig.contextId`) stands at Cartesia. */
export interface UtteranceContext {
  /** The caller's `contextId`, or undefined for a one-call utterance. */
  readonly key: string | undefined
  /** The `context_id` on the wire. A new one is started when the old one ended, failed or was lost. */
  readonly serverId: string
  /** The connection generation the context lives on. */
  readonly generation: number
  /** Fields every input of the context repeats unchanged. */
  readonly fields: GenerationFields
  /** Flushes sent so far: the next sentence's audio ends with `flush_done` of this number + 1. */
  flushes: number
  /** Audio received on the context so far, in ms: Cartesia's timestamps count from the context's start. */
  audioMs: number
  /** Whether the context still takes inputs (no `continue: false`, cancel, error or drop yet). */
  open: boolean
}

interface Entry {
  context: UtteranceContext | undefined
  /** Settles when the latest call on the utterance ends: calls on one utterance run one after another. */
  tail: Promise<void>
  /** Calls running or waiting on the utterance. */
  holders: number
  idle: NodeJS.Timeout | undefined
}

/**
 * The open contexts of every utterance, by `contextId`. A context left open (the caller never said the
 * utterance ended) is closed after `idleMs` without a call, so it stops counting against Cartesia's
 * concurrency limit. Entries go away once no call holds them and no context is open.
 */
export class ContextTable {
  readonly #entries = new Map<string, Entry>()
  readonly #idleMs: number
  readonly #onAbandon: (context: UtteranceContext) => void

  /** @param onAbandon called with an open context nothing will speak on any more, to end it at Cartesia */
  constructor (idleMs: number, onAbandon: (context: UtteranceContext) => void) {
    this.#idleMs = idleMs
    this.#onAbandon = onAbandon
  }

  /** Waits for earlier calls on `key` to end; the returned function ends this one. */
  async lock (key: string): Promise<() => void> {
    let entry = this.#entries.get(key)
    if (entry === undefined) {
      entry = { context: undefined, tail: Promise.resolve(), holders: 0, idle: undefined }
      this.#entries.set(key, entry)
    }
    const held = entry
    held.holders++
    const previous = held.tail
    let done = (): void => {}
    held.tail = new Promise<void>(resolve => { done = resolve })
    await previous
    clearTimeout(held.idle)
    held.idle = undefined
    return () => {
      held.holders--
      done()
      this.#prune(key, held)
    }
  }

  /**
   * The context to speak on: the utterance's open one when it lives on `generation` with the same
   * fields, else a fresh one (and the caller starts it on the wire).
   */
  acquire (key: string | undefined, generation: number, fields: GenerationFields): UtteranceContext {
    const entry = key === undefined ? undefined : this.#entries.get(key)
    const current = entry?.context
    if (current !== undefined && current.open && current.generation === generation) {
      if (sameFields(current.fields, fields)) return current
      this.#abandon(current)
    }
    const context: UtteranceContext = { key, serverId: `${key ?? 'utterance'}:${randomUUID()}`, generation, fields, flushes: 0, audioMs: 0, open: true }
    if (entry !== undefined) entry.context = context
    return context
  }

  /** The call on `context` ended: an open context waits `idleMs` for the next sentence, a closed one is forgotten. */
  release (context: UtteranceContext): void {
    if (context.key === undefined) return
    const entry = this.#entries.get(context.key)
    if (entry === undefined || entry.context !== context) return
    if (!context.open) {
      entry.context = undefined
      return
    }
    clearTimeout(entry.idle)
    entry.idle = setTimeout(() => {
      entry.idle = undefined
      if (entry.context !== context) return
      entry.context = undefined
      this.#abandon(context)
      this.#prune(context.key as string, entry)
    }, this.#idleMs).unref()
  }

  /** The utterance `key` has ended: its open context, if any, is ended now. Call while holding the lock. */
  finish (key: string): void {
    const entry = this.#entries.get(key)
    const context = entry?.context
    if (entry === undefined || context === undefined) return
    entry.context = undefined
    if (context.open) this.#abandon(context)
  }

  /** Stops every idle timer and returns the contexts still open. */
  clear (): UtteranceContext[] {
    const open: UtteranceContext[] = []
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.idle)
      if (entry.context?.open === true) open.push(entry.context)
    }
    this.#entries.clear()
    return open
  }

  #abandon (context: UtteranceContext): void {
    context.open = false
    this.#onAbandon(context)
  }

  #prune (key: string, entry: Entry): void {
    if (entry.holders === 0 && entry.context === undefined && this.#entries.get(key) === entry) this.#entries.delete(key)
  }
}

function sameFields (a: GenerationFields, b: GenerationFields): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
