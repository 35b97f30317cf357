import t from 'tap'
import { DEFAULT_SEGMENTER_OPTIONS, resolveSegmenterOptions } from '../../../lib/vad/segmenter-options.js'
import type { SpeechEvent } from '../../../lib/vad/speech-events.js'
import { SpeechSegmenter } from '../../../lib/vad/speech-segmenter.js'
import type { SpeechSegmenterOptions } from '../../../lib/vad/segmenter-options.js'

const WINDOW = 512 // samples at 16 kHz: 32 ms

/** Window i is filled with the value i, so audio can be traced back to the window it came from. */
function windowOf (index: number): Int16Array {
  return new Int16Array(WINDOW).fill(index)
}

/** Runs a script of per-window probabilities; returns the events with the window index each came after. */
function run (probabilities: number[], options?: SpeechSegmenterOptions): Array<SpeechEvent & { window: number }> {
  const events: Array<SpeechEvent & { window: number }> = []
  let window = 0
  const segmenter = new SpeechSegmenter(options, event => events.push({ ...event, window }))
  for (; window < probabilities.length; window++) segmenter.push(windowOf(window), probabilities[window] as number)
  return events
}

const repeat = (p: number, n: number): number[] => Array.from({ length: n }, () => p)
const PROGRESS = new Set(['speech-audio', 'speech-pause', 'speech-resume'])
/** The utterance-level events (progress events inside an utterance left out). */
const types = (events: SpeechEvent[]): string[] => events.filter(e => !PROGRESS.has(e.type)).map(e => e.type)
const valuesOf = (samples: Int16Array): number[] => [...new Set(samples)]

t.test('silence and sub-threshold probabilities produce no events', async t => {
  t.same(run([...repeat(0, 50), ...repeat(0.45, 50)]), [])
})

t.test('speech starts on the first window at the activation threshold, with the pre-roll before it', async t => {
  const events = run([...repeat(0, 20), ...repeat(0.9, 20), ...repeat(0, 20)])
  const start = events[0]
  if (start?.type !== 'speech-start') return t.fail('first event is speech-start')
  t.equal(start.window, 20, 'emitted right after the first speech window')
  t.equal(start.atMs, 20 * 32)
  // 300 ms = 4800 samples of pre-roll: the last 9.375 windows before window 20, then window 20 itself.
  t.equal(start.preRoll.length, 4800 + WINDOW)
  t.same(valuesOf(start.preRoll), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
  t.equal(start.preRoll.filter(v => v === 10).length, 4800 - 9 * WINDOW, 'the pad starts mid-window, sample-exact')
})

t.test('an onset threshold lets speech start lower while it is set, never above activationThreshold; confirmation is unchanged', async t => {
  const events: Array<SpeechEvent & { window: number }> = []
  let window = 0
  const segmenter = new SpeechSegmenter(undefined, event => events.push({ ...event, window }))
  const push = (probabilities: number[]): void => { for (const p of probabilities) { segmenter.push(windowOf(window), p); window++ } }
  push(repeat(0.4, 3))
  t.same(events, [], '0.4 starts nothing at the default activation threshold (0.5)')
  segmenter.setOnsetThreshold(0.35)
  t.equal(segmenter.onsetThreshold, 0.35)
  push([0.4])
  t.same(types(events), ['speech-start'], 'the same probability starts speech while the onset threshold is set')
  t.equal(events[0]?.window, 3)
  push(repeat(0.4, 7))
  const confirmed = events.find(e => e.type === 'speech-audio')
  t.equal(confirmed?.window, 10, 'confirmed on the 8th window at or above deactivationThreshold, as without it')
  push(repeat(0, 20))
  t.same(types(events), ['speech-start', 'speech-end'])
  segmenter.setOnsetThreshold(undefined)
  t.equal(segmenter.onsetThreshold, 0.5, 'undefined goes back to activationThreshold')
  push(repeat(0.45, 3))
  t.same(types(events), ['speech-start', 'speech-end'], 'and 0.45 starts nothing again')
  segmenter.setOnsetThreshold(0.9)
  t.equal(segmenter.onsetThreshold, 0.5, 'never above activationThreshold')
  for (const bad of [0, 1, Number.NaN]) {
    t.throws(() => { segmenter.setOnsetThreshold(bad) }, { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"onsetThreshold": expected a number between 0 and 1 \(exclusive\)/ })
  }
})

t.test('speech-audio flows only once minSpeechMs of speech is confirmed, starting with everything since the pre-roll', async t => {
  const events = run([...repeat(0, 20), ...repeat(0.9, 20), ...repeat(0, 20)])
  const audio = events.filter(e => e.type === 'speech-audio')
  const first = audio[0]
  if (first?.type !== 'speech-audio') return t.fail('speech-audio is emitted')
  // 250 ms needs 8 windows (256 ms): windows 20..27; the first speech-audio carries 21..27.
  t.equal(first.window, 27, 'confirmed on the 8th speech window')
  t.same(valuesOf(first.samples), [21, 22, 23, 24, 25, 26, 27])
  const later = audio[1]
  t.ok(later?.type === 'speech-audio' && later.window === 28 && later.samples.length === WINDOW, 'then one window per speech-audio')
})

t.test('speech ends after endOfSpeechSilenceMs of silence with the whole utterance', async t => {
  const events = run([...repeat(0, 20), ...repeat(0.9, 20), ...repeat(0, 30)])
  t.same(types(events), ['speech-start', 'speech-end'])
  const start = events[0]
  const end = events.at(-1)
  if (start?.type !== 'speech-start' || end?.type !== 'speech-end') return t.fail('start and end')
  // 550 ms of silence needs 18 windows (576 ms): windows 40..57.
  t.equal(end.window, 57)
  t.equal(end.atMs, 40 * 32, 'atMs is the end of the last speech window')
  t.equal(end.durationMs, end.utterance.length / 16)
  const joined = [start.preRoll, ...events.filter(e => e.type === 'speech-audio').map(e => e.samples)]
  t.same(Array.from(end.utterance), joined.flatMap(a => Array.from(a)), 'utterance = pre-roll + every speech-audio')
  t.same(valuesOf(end.utterance).at(-1), 57, 'trailing silence up to the decision is included')
})

t.test('a blip shorter than minSpeechMs is cancelled and never emits speech-audio', async t => {
  const events = run([...repeat(0, 10), ...repeat(0.9, 5), ...repeat(0, 30)])
  t.same(types(events), ['speech-start', 'speech-cancelled'])
  const cancelled = events.at(-1)
  t.ok(cancelled?.type === 'speech-cancelled' && cancelled.atMs === 15 * 32 && cancelled.window === 32)
})

t.test('hysteresis: once speaking, probabilities between the thresholds still count as speech', async t => {
  const events = run([...repeat(0, 5), 0.6, ...repeat(0.4, 40), ...repeat(0, 20)])
  t.same(types(events), ['speech-start', 'speech-end'])
  const end = events.find(e => e.type === 'speech-end')
  t.ok(end?.type === 'speech-end' && end.atMs === 46 * 32, 'speech lasted through the 0.4 windows')
})

t.test('a pause shorter than endOfSpeechSilenceMs does not split an utterance', async t => {
  const events = run([...repeat(0.9, 20), ...repeat(0, 15), ...repeat(0.9, 20), ...repeat(0, 20)])
  t.same(types(events), ['speech-start', 'speech-end'])
})

t.test('per-session options change the timing', async t => {
  const script = [...repeat(0.9, 10), ...repeat(0, 10), ...repeat(0.9, 10), ...repeat(0, 30)]
  t.same(types(run(script)), ['speech-start', 'speech-end'], 'the default keeps a 320 ms pause inside')
  t.same(types(run(script, { endOfSpeechSilenceMs: 200 })), ['speech-start', 'speech-end', 'speech-start', 'speech-end'])
  t.same(types(run(script, { minSpeechMs: 600, endOfSpeechSilenceMs: 200 })), ['speech-start', 'speech-cancelled', 'speech-start', 'speech-cancelled'])
  const noPad = run([...repeat(0, 10), 0.9], { preSpeechPadMs: 0 })[0]
  t.ok(noPad?.type === 'speech-start' && noPad.preRoll.length === WINDOW, 'no pad: the pre-roll is the first window')
})

t.test('an utterance longer than maxSpeechMs is ended and a new one starts', async t => {
  const events = run(repeat(0.9, 60), { maxSpeechMs: 1000 })
  // 1024 ms without pre-roll (stream start), then 300 ms of pre-roll + 704 ms, and the rest still open.
  t.same(types(events), ['speech-start', 'speech-end', 'speech-start', 'speech-end', 'speech-start'])
  const ends = events.filter(e => e.type === 'speech-end')
  t.ok(ends.every(e => e.type === 'speech-end' && e.durationMs >= 1000 && e.durationMs < 1032), 'each utterance stops at the cap')
})

t.test('flush ends an open utterance: speech-end if confirmed, speech-cancelled if not', async t => {
  const events: SpeechEvent[] = []
  const segmenter = new SpeechSegmenter({}, e => events.push(e))
  for (let i = 0; i < 10; i++) segmenter.push(windowOf(i), 0.9)
  t.ok(segmenter.inSpeech)
  segmenter.flush()
  t.notOk(segmenter.inSpeech)
  segmenter.push(windowOf(10), 0.9)
  segmenter.flush()
  t.same(types(events), ['speech-start', 'speech-end', 'speech-start', 'speech-cancelled'])
  t.equal(segmenter.positionMs, 11 * 32)
})

t.test('emitted audio is never overwritten by later windows', async t => {
  const events = run([...repeat(0.9, 20), ...repeat(0, 20), ...repeat(0.9, 20), ...repeat(0, 20)])
  const ends = events.filter(e => e.type === 'speech-end')
  t.equal(ends.length, 2)
  const first = ends[0]
  t.ok(first?.type === 'speech-end' && valuesOf(first.utterance).every(v => v < 40), 'the first utterance still holds its own windows')
})

t.test('options are validated with the name, what was expected and what was given', async t => {
  t.same(resolveSegmenterOptions(undefined), DEFAULT_SEGMENTER_OPTIONS)
  t.throws(() => new SpeechSegmenter({ activationThreshold: 1.5 }, () => {}), {
    code: 'LLMRTC_ERR_OPTIONS_INVALID',
    message: 'Invalid llmrtc option "activationThreshold": expected a number between 0 and 1 (exclusive), instead got 1.5'
  })
  t.throws(() => resolveSegmenterOptions({ activationThreshold: 0.3 }), { message: /"deactivationThreshold": expected a number <= activationThreshold \(0.3\), instead got 0.35/ })
  t.throws(() => resolveSegmenterOptions({ endOfSpeechSilenceMs: '500' as unknown as number }, undefined, 'vad.'), {
    message: 'Invalid llmrtc option "vad.endOfSpeechSilenceMs": expected an integer number of milliseconds from 32 to 10000, instead got "500"'
  })
  t.throws(() => resolveSegmenterOptions(42 as unknown as SpeechSegmenterOptions), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  const base = resolveSegmenterOptions({ minSpeechMs: 100 })
  t.equal(resolveSegmenterOptions({ preSpeechPadMs: 0 }, base).minSpeechMs, 100, 'session options apply over server options')
})

t.test('silence inside an utterance emits speech-pause per window and speech again emits speech-resume', async t => {
  const events = run([...repeat(0, 5), ...repeat(0.9, 10), ...repeat(0, 4), ...repeat(0.9, 5), ...repeat(0, 30)])
  const pauses = events.filter(e => e.type === 'speech-pause')
  const first = pauses.slice(0, 4)
  t.same(first.map(e => e.type === 'speech-pause' ? e.silenceMs : -1), [32, 64, 96, 128], 'silence grows one window per event')
  t.ok(first.every(e => e.type === 'speech-pause' && e.utterance !== undefined), 'confirmed speech: the utterance so far comes with the pause')
  const pauseAt4 = first[3]
  if (pauseAt4?.type !== 'speech-pause' || pauseAt4.utterance === undefined) return t.fail('pause with utterance')
  t.equal(pauseAt4.utterance.length, 19 * WINDOW, 'five windows of pre-roll, ten speech windows and four silent ones')
  const resumes = events.filter(e => e.type === 'speech-resume')
  t.same(resumes.map(e => e.type === 'speech-resume' ? [e.pauseMs, e.window] : []), [[128, 19]], 'speech-resume names the pause it ended')
  t.same(types(events), ['speech-start', 'speech-end'], 'one utterance')
  const end = events.at(-1)
  t.equal(end?.type, 'speech-end')
  t.notOk(events.some(e => e.type === 'speech-pause' && e.window === end?.window), 'the window that ends the utterance emits speech-end, not a pause')
})

t.test('an unconfirmed blip reports its pauses without audio', async t => {
  const events = run([...repeat(0, 5), ...repeat(0.9, 2), ...repeat(0, 20)])
  const pauses = events.filter(e => e.type === 'speech-pause')
  t.ok(pauses.length > 0)
  t.ok(pauses.every(e => e.type === 'speech-pause' && e.utterance === undefined))
  t.same(types(events), ['speech-start', 'speech-cancelled'])
})

t.test('setEndOfSpeechSilenceMs moves the wait of the current utterance only, and may end it at once', async t => {
  const events: Array<SpeechEvent & { window: number }> = []
  let window = 0
  const segmenter = new SpeechSegmenter({}, event => events.push({ ...event, window }))
  const push = (p: number, n: number): void => { for (let i = 0; i < n; i++) segmenter.push(windowOf(window++), p) }
  push(0, 3)
  push(0.9, 10)
  segmenter.setEndOfSpeechSilenceMs(2000)
  t.equal(segmenter.endOfSpeechSilenceMs, 2000)
  push(0, 30) // 960 ms: past the default 550 ms, short of 2000 ms
  t.same(types(events), ['speech-start'], 'a longer wait keeps the utterance open')
  segmenter.setEndOfSpeechSilenceMs(300)
  t.same(types(events), ['speech-start', 'speech-end'], 'a wait already exceeded ends the utterance now')
  t.equal(events.at(-1)?.window, window, 'without waiting for another window')
  push(0.9, 10)
  t.equal(segmenter.endOfSpeechSilenceMs, 550, 'the next utterance starts from endOfSpeechSilenceMs')
  push(0, 17)
  t.same(types(events), ['speech-start', 'speech-end', 'speech-start'], '544 ms: still open')
  push(0, 1)
  t.same(types(events), ['speech-start', 'speech-end', 'speech-start', 'speech-end'])
})

t.test('a wait shortened by an event handler during push ends the utterance at the end of that push', async t => {
  const events: SpeechEvent[] = []
  const segmenter: SpeechSegmenter = new SpeechSegmenter({}, event => {
    events.push(event)
    if (event.type === 'speech-pause' && event.silenceMs >= 96) segmenter.setEndOfSpeechSilenceMs(64)
  })
  for (let i = 0; i < 10; i++) segmenter.push(windowOf(i), 0.9)
  for (let i = 0; i < 2; i++) segmenter.push(windowOf(i), 0)
  t.same(types(events), ['speech-start'], 'no handler shortened it yet')
  segmenter.push(windowOf(12), 0)
  t.same(types(events), ['speech-start', 'speech-end'])
  t.equal(events.filter(e => e.type === 'speech-end').length, 1, 'ended once')
})
