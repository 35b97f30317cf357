/**
 * What the turn-taking benchmark records during a run, on one clock (performance.now(): the client and
 * the server live in one process), and the measurements taken from it per item.
 */
import type { Category, ItemSpec } from './turn-taking-corpus.js'
import { speechMs, type LlmCall, type SentPart, type SttCall, type TtsCall } from './turn-taking-providers.js'

/** A received frame at or above this peak is sound (the answer's tone peaks at 8000). */
export const CLIENT_SOUND_PEAK = 1000
/** Heard at least this close to the expected length counts as the whole answer (edge frames, fades). */
const WHOLE_ANSWER_SLACK_MS = 60

export interface Message { type: string, at: number, text?: string }
export interface RxFrame { at: number, peak: number, tone: 'long' | 'short' | 'none' }
export interface VadEvent { type: 'speech-start' | 'speech-confirmed' | 'speech-cancelled' | 'speech-end' | 'speech-resume', at: number }

export interface Recording {
  messages: Message[]
  rx: RxFrame[]
  vad: VadEvent[]
  sttCalls: SttCall[]
  llmCalls: LlmCall[]
  ttsCalls: TtsCall[]
  /** Server: the first audio of each turn handed to the output (onTTSChunk index 0). */
  audioWrites: number[]
}

export interface ItemRun {
  spec: ItemSpec
  startAt: number
  endAt: number
  parts: SentPart[]
  /** During-answer items: first sound of the answer at the client after the question. */
  answerOnsetAt?: number
  /** How the wait for the server to finish ended. */
  settled: 'tts-complete' | 'quiet' | 'timeout'
  error?: string
}

export interface TurnMeasure {
  falseCutOff: boolean
  /** Why: answer audio before the end, and/or a `speech-end` whose turn sent `transcript`/`llm`. */
  cutOffBy: string[]
  endToSpeechEndMs?: number
  deadAirMs?: number
  /** Of the dead air: the VAD's end-of-speech decision → the answer's first audio handed to the output (server and providers). */
  speechEndToWriteMs?: number
  /** Of the dead air: first audio handed to the output → heard at the client (downlink). */
  writeToSoundMs?: number
}

export interface DuringMeasure {
  vadOnset: boolean
  vadConfirmed: boolean
  paused: boolean
  resumed: boolean
  cancelled: boolean
  newTurn: boolean
  /** Segment onset (first frame sent) → the client's audio goes silent (2 frames below the threshold). */
  onsetToSilentMs?: number
  /** Of which: segment onset → the server VAD's `speech-start` event (the uplink's and the VAD's share). */
  onsetToVadMs?: number
  /** Of which: the server's `tts-paused`/`tts-cancelled` arriving → silent at the client (the downlink's share). */
  messageToSilentMs?: number
  expectedMs: number
  heardMs: number
  lostMs: number
  /** Longest silence (or other audio) between two frames of the answer, ms. */
  longestGapMs: number
  whole: boolean
}

export interface ItemMeasure {
  id: string
  category: Category
  text: string
  settled: ItemRun['settled']
  error?: string
  turn?: TurnMeasure
  during?: DuringMeasure
  transcripts: string[]
  messageTypes: string[]
  /** Loud runs at the client: [start, end, tone] relative to the item's first part. */
  audioRuns: Array<[number, number, string]>
}

const loud = (f: RxFrame): boolean => f.peak >= CLIENT_SOUND_PEAK

export function measureItem (run: ItemRun, rec: Recording): ItemMeasure {
  const inItem = <T extends { at: number }>(list: T[]): T[] => list.filter(x => x.at >= run.startAt && x.at <= run.endAt)
  const messages = inItem(rec.messages)
  const rx = inItem(rec.rx)
  const origin = run.parts[0]?.startAt ?? run.startAt
  const out: ItemMeasure = {
    id: run.spec.id,
    category: run.spec.category,
    text: run.parts.map(p => p.text || '(cough)').join(' … '),
    settled: run.settled,
    ...(run.error !== undefined ? { error: run.error } : {}),
    transcripts: messages.filter(m => m.type === 'transcript').map(m => m.text ?? ''),
    messageTypes: messages.map(m => m.type).filter(t => t !== 'llm-chunk' && t !== 'pong'),
    audioRuns: loudRuns(rx, origin)
  }
  if (run.error !== undefined) return out
  if (run.spec.segmentAfterMs === undefined) out.turn = measureTurn(run, messages, rx, inItem(rec.vad), inItem(rec.audioWrites.map(at => ({ at }))).map(w => w.at))
  else out.during = measureDuring(run, messages, rx, inItem(rec.vad))
  return out
}

function measureTurn (run: ItemRun, messages: Message[], rx: RxFrame[], vad: VadEvent[], writes: number[]): TurnMeasure {
  const firstStart = run.parts[0]?.startAt ?? run.startAt
  const lastEnd = run.parts.at(-1)?.endAt ?? run.endAt
  const cutOffBy: string[] = []
  const early = rx.find(f => loud(f) && f.at > firstStart && f.at < lastEnd)
  if (early !== undefined) cutOffBy.push(`answer audio ${Math.round(lastEnd - early.at)} ms before the end`)
  messages.forEach((m, i) => {
    if (m.type !== 'speech-end' || m.at >= lastEnd) return
    const next = messages.slice(i + 1)
    const boundary = next.findIndex(n => n.type === 'speech-start' || n.type === 'speech-end')
    const turn = boundary < 0 ? next : next.slice(0, boundary)
    const answered = turn.find(n => n.type === 'transcript' || n.type === 'llm')
    if (answered !== undefined) cutOffBy.push(`speech-end ${Math.round(lastEnd - m.at)} ms before the end, then ${answered.type}`)
  })
  const speechEnd = messages.find(m => m.type === 'speech-end' && m.at > lastEnd)
  const from = speechEnd?.at ?? lastEnd
  const firstSound = rx.find(f => loud(f) && f.at > from)
  // In one process the server runs on before the client reads its socket: start from the VAD's decision.
  const decision = speechEnd === undefined ? undefined : vad.filter(e => e.type === 'speech-end' && e.at <= speechEnd.at).at(-1)
  const write = decision === undefined ? undefined : writes.find(at => at > decision.at && (firstSound === undefined || at < firstSound.at))
  return {
    falseCutOff: cutOffBy.length > 0,
    cutOffBy,
    ...(speechEnd !== undefined ? { endToSpeechEndMs: speechEnd.at - lastEnd } : {}),
    ...(firstSound !== undefined ? { deadAirMs: firstSound.at - lastEnd } : {}),
    ...(decision !== undefined && write !== undefined ? { speechEndToWriteMs: write - decision.at } : {}),
    ...(firstSound !== undefined && write !== undefined ? { writeToSoundMs: firstSound.at - write } : {})
  }
}

function measureDuring (run: ItemRun, messages: Message[], rx: RxFrame[], vad: VadEvent[]): DuringMeasure {
  const segment = run.parts[1]
  const expectedMs = speechMs(run.spec.answer)
  const onset = run.answerOnsetAt ?? NaN
  const segStart = segment?.startAt ?? NaN
  const segEnd = segment?.endAt ?? NaN
  const after = messages.filter(m => m.at >= segStart)
  const answerFrames = rx.filter(f => f.at >= onset && loud(f) && f.tone === 'long')
  const heardMs = answerFrames.length * 10
  let longestGapMs = 0
  for (let i = 1; i < answerFrames.length; i++) {
    longestGapMs = Math.max(longestGapMs, (answerFrames[i] as RxFrame).at - (answerFrames[i - 1] as RxFrame).at - 10)
  }
  // The audio stops before the answer's natural end: a pause or a cancel.
  let silentAt: number | undefined
  const fromSeg = rx.filter(f => f.at >= segStart)
  for (let i = 0; i + 1 < fromSeg.length; i++) {
    const a = fromSeg[i] as RxFrame
    if (!loud(a) && !loud(fromSeg[i + 1] as RxFrame)) {
      if (a.at < onset + expectedMs - 100) silentAt = a.at
      break
    }
  }
  const stop = after.find(m => m.type === 'tts-paused' || m.type === 'tts-cancelled')
  const vadOnset = vad.find(e => e.type === 'speech-start' && e.at >= segStart - 50 && e.at <= segEnd + 400)
  const whole = heardMs >= expectedMs - WHOLE_ANSWER_SLACK_MS
  return {
    vadOnset: vadOnset !== undefined,
    vadConfirmed: vad.some(e => e.type === 'speech-confirmed' && e.at >= segStart - 50 && e.at <= segEnd + 600),
    paused: after.some(m => m.type === 'tts-paused'),
    resumed: after.some(m => m.type === 'tts-resumed'),
    cancelled: after.some(m => m.type === 'tts-cancelled'),
    newTurn: after.some(m => m.type === 'speech-start' || m.type === 'transcript'),
    ...(silentAt !== undefined ? { onsetToSilentMs: silentAt - segStart } : {}),
    ...(vadOnset !== undefined ? { onsetToVadMs: vadOnset.at - segStart } : {}),
    ...(silentAt !== undefined && stop !== undefined ? { messageToSilentMs: silentAt - stop.at } : {}),
    expectedMs,
    heardMs,
    lostMs: Math.max(0, expectedMs - heardMs),
    longestGapMs: whole ? longestGapMs : Infinity,
    whole
  }
}

function loudRuns (rx: RxFrame[], origin: number): Array<[number, number, string]> {
  const runs: Array<[number, number, string]> = []
  let current: [number, number, string] | undefined
  for (const f of rx) {
    if (!loud(f)) { current = undefined; continue }
    const at = Math.round(f.at - origin)
    if (current !== undefined && current[2] === f.tone && at - current[1] <= 25) current[1] = at + 10
    else runs.push(current = [at, at + 10, f.tone])
  }
  return runs
}
