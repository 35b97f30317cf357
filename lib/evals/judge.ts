import type { LLMProvider } from '../providers/types.js'
import type { ExpectationOutcome } from './expectations.js'

/** The judge's instructions: a strict JSON verdict, nothing else. */
export const JUDGE_SYSTEM_PROMPT = [
  'You are a strict evaluator of a voice assistant\'s answers.',
  'You get a conversation so far and a rubric about the assistant\'s last answer.',
  'Decide whether the last answer meets every point of the rubric.',
  'Reply with exactly one JSON object and nothing else, no Markdown: {"pass": true or false, "reason": "one sentence"}.'
].join(' ')

/** One exchange of the conversation the judge reads. */
export interface JudgedExchange {
  user: string
  assistant: string
}

/**
 * Asks `llm` whether the last answer of `conversation` meets `rubric`. The verdict must be the JSON
 * object of JUDGE_SYSTEM_PROMPT (a code fence around it is tolerated); anything else fails the
 * expectation, quoting what the judge said. A failed call fails it too, with the error.
 */
export async function judgeAnswer (llm: LLMProvider, rubric: string, conversation: readonly JudgedExchange[], signal?: AbortSignal): Promise<ExpectationOutcome> {
  const transcript = conversation.map(e => `User: ${e.user}\nAssistant: ${e.assistant}`).join('\n')
  const expected = `the judge's verdict pass for: ${rubric}`
  let text: string
  try {
    const request = {
      messages: [
        { role: 'system' as const, content: JUDGE_SYSTEM_PROMPT },
        { role: 'user' as const, content: `Conversation:\n${transcript}\n\nRubric for the last answer:\n${rubric}` }
      ],
      config: { temperature: 0 },
      ...(signal !== undefined ? { signal } : {})
    }
    text = (await llm.complete(request)).fullText
  } catch (err) {
    return { field: 'judge', pass: false, expected, got: `the judge's call failed: ${(err as Error).message}` }
  }
  const verdict = parseVerdict(text)
  if (verdict === undefined) return { field: 'judge', pass: false, expected, got: `no JSON verdict {"pass", "reason"} in the judge's answer ${JSON.stringify(text.slice(0, 200))}` }
  return { field: 'judge', pass: verdict.pass, expected, got: `${verdict.pass ? 'pass' : 'fail'}: ${verdict.reason}` }
}

/** `{"pass": boolean, "reason": string}` from the judge's text, or undefined. */
export function parseVerdict (text: string): { pass: boolean, reason: string } | undefined {
  const body = text.trim().replace(/^```(?:json)?\s*/i, '').replace(/\s*```$/, '')
  let data: unknown
  try {
    data = JSON.parse(body)
  } catch {
    return undefined
  }
  if (data === null || typeof data !== 'object') return undefined
  const { pass, reason } = data as { pass?: unknown, reason?: unknown }
  if (typeof pass !== 'boolean' || typeof reason !== 'string') return undefined
  return { pass, reason }
}
