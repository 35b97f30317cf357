import type { VoicePipeline } from '../../lib/pipeline/voice-pipeline.js'
import type { TurnResult } from '../../lib/pipeline/turn-types.js'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import type { TextMessage } from '../../lib/protocol/client-messages.js'
import type { VisionAttachment } from '../../lib/providers/types.js'
import type { Session } from '../../lib/sessions/session.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'

/** What `fastify.llmrtcPipeline.textTurn()` resolves with. */
export interface TextTurn {
  /** The turn's result; undefined when it never ran (a newer utterance replaced it, or the session ended). */
  result: TurnResult | undefined
  /** The server messages the session was sent from the call until the turn ended, in order (also without a client). */
  messages: ServerMessage[]
}

/** Options of a text turn. */
export interface TextTurnOptions {
  /** Images for the turn, after those queued by `attachments` messages. */
  attachments?: VisionAttachment[]
}

/**
 * The messages a session's pipeline sends, to its client and to whoever watches them (a text turn run
 * through the API gets its events this way, whether or not a client is connected).
 */
export class SessionMessages {
  readonly #watchers = new Map<string, Set<(message: ServerMessage) => void>>()

  /** The send function of `session`'s pipeline and agent. */
  sendTo (session: Session): (message: ServerMessage) => void {
    return (message) => {
      session.send(message)
      const watchers = this.#watchers.get(session.id)
      if (watchers !== undefined) for (const watcher of watchers) watcher(message)
    }
  }

  /** Runs a text turn on `session`'s pipeline and collects what it sends. */
  async textTurn (session: Session, pipeline: VoicePipeline, text: string, options: TextTurnOptions = {}): Promise<TextTurn> {
    const messages: ServerMessage[] = []
    const watcher = (message: ServerMessage): void => { messages.push(message) }
    let watchers = this.#watchers.get(session.id)
    if (watchers === undefined) this.#watchers.set(session.id, watchers = new Set())
    watchers.add(watcher)
    try {
      const result = await pipeline.runText(text, [...session.pendingAttachments.splice(0), ...options.attachments ?? []])
      return { result, messages }
    } finally {
      watchers.delete(watcher)
      if (watchers.size === 0) this.#watchers.delete(session.id)
    }
  }
}

/** The `text` client message (ours): one turn from typed text, interrupting a running one. */
export function handleTextMessage (message: TextMessage, ctx: ConnectionContext, pipeline: VoicePipeline): void {
  const attachments = [...ctx.session.pendingAttachments.splice(0), ...message.attachments ?? []]
  void pipeline.runText(message.text, attachments)
}
