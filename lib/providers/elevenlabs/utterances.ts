import { randomUUID } from 'node:crypto'
import { AsyncQueue } from '../../streams/async-queue.js'
import type { ContextEvent, ElevenLabsSocket } from './tts-websocket.js'

/** What a sentence reads: the context's messages, and its own abort and quiet timer (by sentence number). */
export type UtteranceEvent = ContextEvent | { type: 'abort' | 'quiet', sentence: number }

/** Where one utterance (the sentences sharing a `TTSConfig.contextId`) stands at ElevenLabs. */
export interface Utterance {
  /** The caller's `contextId`, or undefined for a one-call utterance. */
  readonly key: string | undefined
  /** The `context_id` on the wire. A new one is started when the old one ended, failed or was lost. */
  readonly serverId: string
  /** The socket the context lives on (its URL names voice, model and format). */
  readonly socket: ElevenLabsSocket
  /** Whether the context's first message (`text: ' '` with the voice settings) was sent. */
  started: boolean
  /** Whether the context still takes text (no close, error or drop yet). */
  open: boolean
  /**
   * The context's messages, for as long as it is open: audio that comes after one sentence ended (the
   * silence after its last word) goes to the start of the next one, in order, rather than being lost.
   */
  readonly events: AsyncQueue<UtteranceEvent>
  /** Numbers the sentences, so a late abort or quiet event of an earlier one is ignored. */
  sentence: number
  readonly unsubscribe: () => void
}

/** A new utterance on `socket`, listening to its context. */
export function openUtterance (key: string | undefined, serverId: string, socket: ElevenLabsSocket): Utterance {
  const events = new AsyncQueue<UtteranceEvent>()
  const unsubscribe = socket.subscribe(serverId, (event) => { events.offer(event) })
  return { key, serverId, socket, started: false, open: true, events, sentence: 0, unsubscribe }
}

interface Entry {
  utterance: Utterance | undefined
  /** What the utterance said so far (for REST's `previous_text` when the socket is unavailable). */
  spoken: string
  /** Settles when the latest call on the utterance ends: calls on one utterance run one after another. */
  tail: Promise<void>
  holders: number
  idle: NodeJS.Timeout | undefined
}

/** A fresh wire id for an utterance: the caller's key (for the logs of both ends) and a random part. */
export function newServerId (key: string | undefined): string {
  return `${key ?? 'utterance'}:${randomUUID()}`
}

/**
 * The open contexts of every utterance, by `contextId`. A context left open (the caller never said the
 * utterance ended) is closed after `idleMs` without a call, so it stops holding one of the socket's
 * five slots. Entries go away once no call holds them and no context is open.
 */
export class UtteranceTable {
  readonly #entries = new Map<string, Entry>()
  readonly #idleMs: number

  constructor (idleMs: number) {
    this.#idleMs = idleMs
  }

  /** Waits for earlier calls on `key` to end; the returned function ends this one. */
  async lock (key: string): Promise<() => void> {
    let entry = this.#entries.get(key)
    if (entry === undefined) {
      entry = { utterance: undefined, spoken: '', tail: Promise.resolve(), holders: 0, idle: undefined }
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

  /** The utterance's open context when it is on a live socket for `url`; a stale one is ended. */
  current (key: string | undefined, url: string): Utterance | undefined {
    const entry = key === undefined ? undefined : this.#entries.get(key)
    const utterance = entry?.utterance
    if (entry === undefined || utterance === undefined) return undefined
    if (utterance.open && utterance.socket.isOpen && utterance.socket.url === url) return utterance
    end(utterance)
    entry.utterance = undefined
    return undefined
  }

  /** Records `utterance` as the context of its key. */
  set (utterance: Utterance): void {
    const entry = utterance.key === undefined ? undefined : this.#entries.get(utterance.key)
    if (entry !== undefined) entry.utterance = utterance
  }

  /** What the utterance `key` said so far. */
  spoken (key: string | undefined): string {
    return key === undefined ? '' : this.#entries.get(key)?.spoken ?? ''
  }

  /** Adds `text` to what the utterance `key` said. */
  said (key: string | undefined, text: string): void {
    const entry = key === undefined ? undefined : this.#entries.get(key)
    if (entry !== undefined) entry.spoken = `${entry.spoken} ${text}`.trim().slice(-1000)
  }

  /** The call on `utterance` ended: an open context waits `idleMs` for the next sentence, a closed one is forgotten. */
  release (utterance: Utterance): void {
    if (utterance.key === undefined) return
    const entry = this.#entries.get(utterance.key)
    if (entry === undefined || entry.utterance !== utterance) return
    if (!utterance.open) {
      entry.utterance = undefined
      return
    }
    clearTimeout(entry.idle)
    entry.idle = setTimeout(() => {
      entry.idle = undefined
      if (entry.utterance !== utterance) return
      entry.utterance = undefined
      end(utterance)
      this.#prune(utterance.key as string, entry)
    }, this.#idleMs).unref()
  }

  /** The utterance `key` has ended: its open context, if any, is closed now. Call while holding the lock. */
  finish (key: string): void {
    const entry = this.#entries.get(key)
    if (entry === undefined) return
    entry.spoken = ''
    const utterance = entry.utterance
    entry.utterance = undefined
    if (utterance !== undefined) end(utterance)
  }

  /** Stops every idle timer and closes the contexts still open. */
  clear (): void {
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.idle)
      if (entry.utterance !== undefined) end(entry.utterance)
    }
    this.#entries.clear()
  }

  /** Forgets an entry nothing holds: at once, or after `idleMs` when it remembers what was said (REST continuity). */
  #prune (key: string, entry: Entry): void {
    if (entry.holders !== 0 || entry.utterance !== undefined || this.#entries.get(key) !== entry) return
    if (entry.spoken === '') {
      this.#entries.delete(key)
      return
    }
    clearTimeout(entry.idle)
    entry.idle = setTimeout(() => {
      if (entry.holders === 0 && entry.utterance === undefined && this.#entries.get(key) === entry) this.#entries.delete(key)
    }, this.#idleMs).unref()
  }
}

/** Closes the utterance's context at ElevenLabs (`close_context`); it takes no more text. */
export function end (utterance: Utterance): void {
  utterance.unsubscribe()
  utterance.events.abort()
  if (!utterance.open) return
  utterance.open = false
  if (utterance.started) utterance.socket.closeContext(utterance.serverId)
  else utterance.socket.unreserve(utterance.serverId)
}
