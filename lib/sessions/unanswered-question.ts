import type { ChatMessage } from '../providers/types.js'
import type { SessionRecord } from './session-store.js'

/**
 * The question a record shows was never answered because its server stopped mid-turn: the record still
 * marks a turn open (`openTurn`, cleared by every turn that ends and every client that leaves a live
 * server) and its history ends with that user message. A turn cancelled by a barge-in ended on a live
 * server (its heard part, if any, follows the question), as did a failed or blocked one: none of them is
 * answered again. Undefined for every other record.
 */
export function unansweredQuestion (record: SessionRecord): ChatMessage | undefined {
  if (record.openTurn === undefined) return undefined
  const last = record.history.at(-1)
  return last?.role === 'user' ? last : undefined
}
