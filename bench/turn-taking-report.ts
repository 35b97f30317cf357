/**
 * The turn-taking benchmark's tables (markdown) from the per-item measures, and the comparison with the
 * targets of the turn-taking issue.
 */
import { DURING_ANSWER_CATEGORIES, TURN_CATEGORIES, type Category, type ItemSpec } from './turn-taking-corpus.js'
import { percentile } from './instant-providers.js'
import { normalize, type Delays, type SttCall } from './turn-taking-providers.js'
import type { ItemMeasure } from './turn-taking-record.js'

const fmt = (n: number): string => Number.isFinite(n) ? n.toFixed(0) : '–'
const pct = (n: number, of: number): string => of === 0 ? '–' : `${n}/${of} (${(100 * n / of).toFixed(0)}%)`
const p50p95 = (values: number[]): string => values.length === 0 ? '–' : `${fmt(percentile(values, 50))} / ${fmt(percentile(values, 95))}`
const defined = (values: Array<number | undefined>): number[] => values.filter((v): v is number => v !== undefined)

export function turnTable (items: ItemMeasure[]): string[] {
  const lines = [
    '| category | items | false cut-offs | end of speech → `speech-end` p50 / p95 (ms) | dead air: end of speech → first answer audio p50 / p95 (ms) | … end-of-speech decision → first audio written (server, providers) p50 | … written → heard (downlink) p50 | no answer |',
    '|---|---|---|---|---|---|---|---|'
  ]
  const row = (label: string, list: ItemMeasure[]): void => {
    const turns = list.flatMap(m => m.turn !== undefined ? [m.turn] : [])
    lines.push(`| ${label} | ${list.length} | ${pct(turns.filter(t => t.falseCutOff).length, turns.length)} | ` +
      `${p50p95(defined(turns.map(t => t.endToSpeechEndMs)))} | ${p50p95(defined(turns.map(t => t.deadAirMs)))} | ` +
      `${fmt(percentile(defined(turns.map(t => t.speechEndToWriteMs)), 50))} | ${fmt(percentile(defined(turns.map(t => t.writeToSoundMs)), 50))} | ` +
      `${list.length - turns.filter(t => t.deadAirMs !== undefined).length} |`)
  }
  for (const category of TURN_CATEGORIES) row(category, items.filter(m => m.category === category))
  row('**all turn items**', items.filter(m => TURN_CATEGORIES.includes(m.category)))
  return lines
}

export function duringTable (items: ItemMeasure[]): string[] {
  const lines = [
    '| category | items | server VAD onset (`speech-start` event) / confirmed | `tts-paused` / `tts-resumed` (items) | false barge-ins: `tts-cancelled` / new turn | user onset → assistant silent at the client p50 / p95 (ms; n) | … of which user onset → server VAD onset p50 (ms) | … of which `tts-paused`/`tts-cancelled` arrival → silent p50 (ms) | audio lost p50 / max (ms) | longest gap in the answer p50 / max (ms) | whole answer heard |',
    '|---|---|---|---|---|---|---|---|---|---|---|'
  ]
  for (const category of DURING_ANSWER_CATEGORIES) {
    const list = items.filter(m => m.category === category)
    const d = list.flatMap(m => m.during !== undefined ? [m.during] : [])
    const silent = defined(d.map(x => x.onsetToSilentMs))
    const interruption = category === 'interruption'
    const gaps = d.map(x => x.longestGapMs)
    const gapText = d.length === 0 ? '–' : `${fmt(percentile(gaps, 50))} / ${d.some(x => !x.whole) ? 'cut' : fmt(Math.max(...gaps))}`
    lines.push(`| ${category} | ${list.length} | ${d.filter(x => x.vadOnset).length} / ${d.filter(x => x.vadConfirmed).length} | ` +
      `${d.filter(x => x.paused).length} / ${d.filter(x => x.resumed).length} | ` +
      `${interruption ? `(expected) ${d.filter(x => x.cancelled).length} / ${d.filter(x => x.newTurn).length}` : `${d.filter(x => x.cancelled).length} / ${d.filter(x => x.newTurn).length}`} | ` +
      `${p50p95(silent)} (${silent.length}/${d.length}) | ${fmt(percentile(defined(d.map(x => x.onsetToVadMs)), 50))} | ${fmt(percentile(defined(d.map(x => x.messageToSilentMs)), 50))} | ` +
      `${interruption ? '–' : `${fmt(percentile(d.map(x => x.lostMs), 50))} / ${fmt(Math.max(...d.map(x => x.lostMs)))}`} | ` +
      `${interruption ? '–' : gapText} | ${interruption ? '–' : `${d.filter(x => x.whole).length}/${d.length}`} |`)
  }
  return lines
}

/** The issue's targets, checked against this run. */
export function targets (items: ItemMeasure[], delays: Delays): string[] {
  const out: string[] = []
  const mark = (ok: boolean): string => ok ? 'met' : '**not met**'
  const complete = defined(items.filter(m => m.category === 'complete').map(m => m.turn?.deadAirMs))
  const paused = items.filter(m => m.category === 'paused').flatMap(m => m.turn !== undefined ? [m.turn] : [])
  const cutRate = paused.length === 0 ? NaN : 100 * paused.filter(t => t.falseCutOff).length / paused.length
  const instant = delays.sttMs === 0 && delays.llmMs === 0 && delays.ttsMs === 0
  const standard = delays.sttMs === 300 && delays.llmMs === 400 && delays.ttsMs === 150
  const p50 = percentile(complete, 50)
  if (instant) out.push(`instant providers: p50 end → first audio on complete sentences ${fmt(p50)} ms (target ≤ 500: ${mark(p50 <= 500)}); false cut-offs on paused sentences ${Number.isFinite(cutRate) ? cutRate.toFixed(0) : '–'}% (target ≤ 5%: ${mark(cutRate <= 5)})`)
  else if (standard) out.push(`delayed providers (stt 300, llm 400, tts 150): p50 end → first audio on complete sentences ${fmt(p50)} ms (target ≤ 1150: ${mark(p50 <= 1150)}); false cut-offs on paused sentences ${Number.isFinite(cutRate) ? cutRate.toFixed(0) : '–'}%`)
  else out.push(`delays stt ${delays.sttMs}, llm ${delays.llmMs}, tts ${delays.ttsMs} (no target: targets are for 0/0/0 and 300/400/150): p50 end → first audio ${fmt(p50)} ms; false cut-offs on paused sentences ${Number.isFinite(cutRate) ? cutRate.toFixed(0) : '–'}%`)
  const interruptions = defined(items.filter(m => m.category === 'interruption').map(m => m.during?.onsetToSilentMs))
  const i50 = percentile(interruptions, 50)
  out.push(`user onset → silent, interruptions: p50 ${fmt(i50)} ms, p95 ${fmt(percentile(interruptions, 95))} ms over ${interruptions.length} (target ≤ 150: ${mark(i50 <= 150)})`)
  const soft = items.filter(m => m.category === 'cough' || m.category === 'backchannel').flatMap(m => m.during !== undefined ? [m.during] : [])
  const ok = soft.filter(d => !d.cancelled && !d.newTurn && d.whole && d.longestGapMs <= 600)
  const softSilent = defined(soft.map(d => d.onsetToSilentMs))
  out.push(`cough/backchannel: no cancel, no turn, whole answer heard, gap ≤ 600 ms in ${ok.length}/${soft.length} items (target: all: ${mark(soft.length > 0 && ok.length === soft.length)}); ` +
    `where the answer paused, onset → silent p50 ${fmt(percentile(softSilent, 50))} ms over ${softSilent.length} (target ≤ 150${softSilent.length > 0 ? `: ${mark(percentile(softSilent, 50) <= 150)}` : ''})`)
  return out
}

/** Prometheus lines whose metric name contains `preemptive` or `speculative`, with the change over the run. */
export function speculativeMetrics (before: string | undefined, after: string | undefined): string[] {
  if (after === undefined) return ['n/a (no `/metrics`)']
  const parse = (text: string | undefined): Map<string, number> => {
    const map = new Map<string, number>()
    for (const line of (text ?? '').split('\n')) {
      if (line.startsWith('#') || !/preemptive|speculative/i.test(line.split(/[{\s]/)[0] ?? '')) continue
      const match = /^(\S+(?:\{[^}]*\})?)\s+(\S+)/.exec(line)
      if (match !== null) map.set(match[1] as string, Number(match[2]))
    }
    return map
  }
  const a = parse(before)
  const b = parse(after)
  if (b.size === 0) return ['n/a (no counter named `preemptive` or `speculative` in `/metrics`)']
  return ['| metric | end of run | change over the run |', '|---|---|---|',
    ...[...b].map(([name, value]) => `| \`${name}\` | ${value} | ${value - (a.get(name) ?? 0)} |`)]
}

export function perItemTable (items: ItemMeasure[]): string[] {
  const lines = ['| item | what was said | cut-off | dead air (ms) | segment: VAD onset, cancel, turn, paused/resumed | onset → silent (ms) | heard / expected (ms), longest gap | transcripts |', '|---|---|---|---|---|---|---|---|']
  for (const m of items) {
    const t = m.turn
    const d = m.during
    lines.push(`| ${m.id}${m.settled !== 'tts-complete' ? ` (${m.settled})` : ''}${m.error !== undefined ? ` **${m.error}**` : ''} | ${m.text} | ` +
      `${t === undefined ? '' : t.falseCutOff ? `yes: ${t.cutOffBy.join('; ')}` : 'no'} | ${t?.deadAirMs !== undefined ? fmt(t.deadAirMs) : ''} | ` +
      `${d === undefined ? '' : `${d.vadOnset ? (d.vadConfirmed ? 'onset+confirmed' : 'onset') : 'none'}, ${d.cancelled ? 'cancel' : '–'}, ${d.newTurn ? 'turn' : '–'}, ${d.paused ? 'paused' : '–'}/${d.resumed ? 'resumed' : '–'}`} | ` +
      `${d?.onsetToSilentMs !== undefined ? fmt(d.onsetToSilentMs) : ''} | ${d === undefined ? '' : `${d.heardMs} / ${d.expectedMs}, ${d.whole ? fmt(d.longestGapMs) : 'cut'}`} | ` +
      `${m.transcripts.map(x => `"${x}"`).join(', ')} |`)
  }
  return lines
}

/**
 * Checks the STT rule gave the intended text, from the STT calls themselves (a turn the server cancels
 * never sends its transcript): every spoken part of a turn item (the question of a during-answer item)
 * is in some call's text, the last call of a turn item ends with its last part, and no call mixes a
 * during-answer item's question with its segment.
 */
export function sttMismatches (specs: ItemSpec[], items: ItemMeasure[], sttCalls: SttCall[]): string[] {
  const out: string[] = []
  for (const m of items) {
    const spec = specs.find(s => s.id === m.id)
    if (spec === undefined || m.error !== undefined) continue
    const calls = sttCalls.filter(c => c.itemId === m.id).map(c => normalize(c.text))
    const spoken = spec.parts.filter(p => p.text !== '').map(p => normalize(p.text))
    // Speech over the answer may rightly never be transcribed (a backchannel the VAD never confirmed).
    const missing = (spec.segmentAfterMs === undefined ? spoken : spoken.slice(0, 1)).filter(p => !calls.some(s => s.includes(p)))
    if (missing.length > 0) out.push(`${m.id}: no STT result holds ${missing.map(p => `"${p}"`).join(', ')} (results: ${calls.map(t => `"${t}"`).join(', ') || 'none'})`)
    if (spec.segmentAfterMs === undefined) {
      if (!(calls.at(-1) ?? '').endsWith(spoken.at(-1) ?? '')) out.push(`${m.id}: the last STT result "${calls.at(-1) ?? ''}" does not end with the last part`)
    } else {
      const question = spoken[0] ?? '\0'
      for (const c of calls) if (c.includes(question) && c !== question) out.push(`${m.id}: an STT result mixed the question with the segment: "${c}"`)
    }
  }
  return out
}

export function categoriesOf (items: ItemSpec[]): string {
  const counts = new Map<Category, number>()
  for (const item of items) counts.set(item.category, (counts.get(item.category) ?? 0) + 1)
  return [...counts].map(([c, n]) => `${n} ${c}`).join(', ')
}
