import type { ServerMessage } from '../protocol/server-messages.js'
import type { ChatMessage, VisionAttachment } from '../providers/types.js'
import type { Tool } from '../tools/types.js'
import { ConversationHistory } from './conversation-history.js'
import type { SessionRecord } from './session-store.js'

/** Most images held for the next turn (the newest win). */
export const MAX_PENDING_ATTACHMENTS = 16

/** The client connection a session is bound to (the signaling WebSocket, plus a data channel once open). */
export interface SessionConnection {
  readonly id: string
  send: (message: ServerMessage) => void
  close: (code: number, reason: string) => void
}

/**
 * How a session's client reaches it, for metrics: the signaling WebSocket alone (`websocket`, the default),
 * WebRTC media negotiated on it (`webrtc`), a phone call (`call`) or a device audio stream (`device`).
 */
export type SessionTransport = 'webrtc' | 'call' | 'device' | 'websocket'

/** Every SessionTransport, in the order metrics list them. */
export const SESSION_TRANSPORTS: readonly SessionTransport[] = ['webrtc', 'call', 'device', 'websocket']

export interface SessionInit {
  id: string
  principal: string | null
  systemPrompt: string
  historyLimit: number
  now: number
  record?: SessionRecord
}

/** One conversation: its history and state, and the connection currently bound to it (if any). */
export class Session {
  readonly id: string
  readonly principal: string | null
  readonly createdAt: number
  readonly history: ConversationHistory
  data: Record<string, unknown>
  lastActivityAt: number
  connection: SessionConnection | undefined
  /** Epoch ms when the current connection was bound. */
  connectedAt: number
  /** Epoch ms when the last connection went away; undefined while connected. */
  disconnectedAt: number | undefined
  /** Images queued by `attachments` for the next turn (the newest `MAX_PENDING_ATTACHMENTS`). */
  pendingAttachments: VisionAttachment[] = []
  /**
   * Tools the session's transport offers besides the agent's (a phone call's `end_call`, `transfer_call`,
   * `collect_digits`): set before the session's first turn, never persisted. A tool of the agent's with the
   * same name wins, so an application can replace one.
   */
  transportTools: Tool[] = []
  /**
   * The id of the turn whose user message is in the history and whose answer is not yet (persisted as the
   * record's `openTurn`): set before the LLM is asked, cleared when the turn ends or the client leaves.
   */
  openTurn: string | undefined
  /**
   * A question this server took over from one that stopped mid-turn (`unansweredQuestion`), to be
   * answered once the resumed client's media is ready; taken (set back to undefined) when it is. Never persisted.
   */
  unanswered: ChatMessage | undefined
  /** How the client reaches the session (set where the session is bound; never persisted). */
  transport: SessionTransport = 'websocket'
  /** Aborted when the session ends: everything the session started listens to it. */
  readonly #lifetime = new AbortController()

  constructor (init: SessionInit) {
    this.id = init.id
    this.principal = init.principal
    this.createdAt = init.record?.createdAt ?? init.now
    this.lastActivityAt = init.record?.lastActivityAt ?? init.now
    this.connectedAt = init.now
    this.disconnectedAt = init.now
    this.history = new ConversationHistory(init.systemPrompt, init.historyLimit, init.record?.history ?? [])
    this.data = init.record?.data ?? {}
  }

  get signal (): AbortSignal { return this.#lifetime.signal }
  get closed (): boolean { return this.#lifetime.signal.aborted }
  get connected (): boolean { return this.connection !== undefined }

  /** Sends to the bound connection; a message for a disconnected session is dropped. */
  send (message: ServerMessage): void {
    this.connection?.send(message)
  }

  /**
   * Queues images for the next turn. Only the newest `MAX_PENDING_ATTACHMENTS` are kept: camera or screen
   * frames sent faster than turns happen replace older ones instead of piling up.
   */
  queueAttachments (attachments: readonly VisionAttachment[]): void {
    const queue = this.pendingAttachments
    const from = Math.max(0, attachments.length - MAX_PENDING_ATTACHMENTS)
    for (let i = from; i < attachments.length; i++) queue.push(attachments[i] as VisionAttachment)
    if (queue.length > MAX_PENDING_ATTACHMENTS) queue.splice(0, queue.length - MAX_PENDING_ATTACHMENTS)
  }

  /** Ends the session's work (turns, timers); idempotent. */
  end (reason: string): void {
    if (!this.#lifetime.signal.aborted) this.#lifetime.abort(reason)
  }

  toRecord (): SessionRecord {
    return {
      id: this.id,
      principal: this.principal,
      history: this.history.messages,
      data: this.data,
      createdAt: this.createdAt,
      lastActivityAt: this.lastActivityAt,
      ...(this.openTurn !== undefined ? { openTurn: this.openTurn } : {})
    }
  }
}
