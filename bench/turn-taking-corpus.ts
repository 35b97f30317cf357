/**
 * The turn-taking benchmark's corpus: what the client says, with a scripted transcript for every part, and
 * what the scripted LLM answers. Speech is espeak-ng (en-us, 48 kHz, cached in the OS temp dir by
 * test/helpers/speech.ts); coughs are synthesized here. Nothing recorded is committed.
 *
 * Categories:
 * - `complete`: one finished question or request.
 * - `paused`: an unfinished first part, a 400-900 ms pause, the rest.
 * - `dictation`: numbers and lists dictated in two or three parts with pauses.
 * - `backchannel`, `cough`, `interruption`: a question whose answer is long (≥ 4 s of audio), then
 *   the segment, spoken `segmentAfterMs` after the answer's first sound reached the client.
 */
import { synthesizeSpeech } from '../test/helpers/speech.js'

export type Category = 'complete' | 'paused' | 'dictation' | 'backchannel' | 'cough' | 'interruption'
export const TURN_CATEGORIES: readonly Category[] = ['complete', 'paused', 'dictation']
export const DURING_ANSWER_CATEGORIES: readonly Category[] = ['backchannel', 'cough', 'interruption']

export const SAMPLE_RATE_HZ = 48_000

export interface PartSpec {
  /** What the scripted STT returns for this part ('' for a cough: a real STT hears no words). */
  text: string
  /** Silence before this part, in ms (turn items' pauses). */
  pauseBeforeMs: number
  /** espeak-ng phrase, or a synthesized cough. */
  source: { say: string } | { cough: CoughKind }
}

export interface ItemSpec {
  id: string
  category: Category
  parts: PartSpec[]
  /** What the LLM answers to the whole item's text (long for the during-answer items). */
  answer: string
  /** During-answer items: the segment is spoken this long after the answer's first sound at the client. */
  segmentAfterMs?: number
}

export interface Item extends ItemSpec {
  audio: Int16Array[]
}

/** The item's whole text as the STT would give it at the end (parts joined, coughs dropped). */
export function fullText (parts: ReadonlyArray<{ text: string }>): string {
  return parts.map(p => p.text).filter(t => t !== '').join(' ')
}

const say = (text: string, pauseBeforeMs = 0): PartSpec => ({ text, pauseBeforeMs, source: { say: text } })

const COMPLETE: Array<[string, string]> = [
  ["What's the weather in Paris?", 'It is sunny and mild.'],
  ['Book me a taxi to the airport.', 'Your taxi is booked.'],
  ['How long does it take to boil an egg?', 'About eight minutes.'],
  ['Set an alarm for seven tomorrow morning.', 'Alarm set for seven.'],
  ['What time does the museum close today?', 'It closes at six.'],
  ['Play some relaxing music.', 'Playing relaxing music now.'],
  ['Remind me to call my mother at noon.', 'I will remind you.'],
  ['How many ounces are in a pound?', 'There are sixteen ounces.'],
  ['Turn off the lights in the kitchen.', 'The kitchen lights are off.'],
  ['Who won the football game last night?', 'The home team won.'],
  ['Add milk to my shopping list.', 'Milk is on your list.'],
  ['What is the capital of Australia?', 'It is Canberra.']
]

const PAUSED: Array<[string, number, string, string]> = [
  ["I'd like to book a table for", 700, 'four people', 'A table for four, done.'],
  ['My flight leaves on', 800, 'Tuesday morning', 'Noted, Tuesday morning.'],
  ['Can you tell me, um,', 900, 'how late the pharmacy is open', 'It is open until nine.'],
  ['I want to send a message to', 600, 'my brother', 'What should it say?'],
  ['Could you find me a hotel near', 750, 'the train station', 'I found three hotels.'],
  ['The meeting should start at', 500, 'half past two', 'Meeting set for two thirty.'],
  ['Please move my appointment to', 850, 'next Thursday', 'Moved to next Thursday.'],
  ["I'm looking for a restaurant that", 650, 'serves vegan food', 'Here are two vegan places.'],
  ['Order a large pizza with', 400, 'mushrooms and olives', 'Your pizza is ordered.'],
  ["What's the best way to get to", 550, 'the city center', 'Take the number five bus.']
]

const DICTATION: Array<[Array<[number, string]>, string]> = [
  [[[0, 'My number is five five five'], [700, 'one two three'], [600, 'four five six seven']], 'Got your number.'],
  [[[0, 'I need eggs, milk,'], [800, 'and bread']], 'Added to your list.'],
  [[[0, 'The code is four seven'], [650, 'nine two']], 'Code four seven nine two.'],
  [[[0, 'My address is twelve'], [700, 'Oak Street'], [500, 'apartment three']], 'Address saved.'],
  [[[0, 'Add apples,'], [600, 'bananas,'], [600, 'and oranges']], 'Three fruits added.'],
  [[[0, 'The card number ends in'], [900, 'eight one'], [500, 'six zero']], 'Card ending eight one six zero.']
]

/** Questions whose answers are long (≥ 4 s at the TTS's pace), for the during-answer items. First sentences are ≥ 3 words. */
const LONG: Array<[string, string]> = [
  ['Tell me about the weather this week.', 'This week starts sunny and warm. Clouds arrive on Wednesday afternoon. The weekend looks dry again.'],
  ['How do I get to the museum?', 'Walk north for two blocks. Turn left at the bakery. The museum is on your right.'],
  ['What should I cook for dinner?', 'A simple pasta works well tonight. Use tomatoes, garlic and fresh basil. It takes twenty minutes.'],
  ['What is on my calendar tomorrow?', 'You have three meetings tomorrow. The first one starts at nine. Lunch with Anna is at noon.'],
  ['Can you explain how trains work?', 'Most trains run on electric motors. Power comes from overhead wires. The wheels follow steel rails.']
]

const BACKCHANNELS = ['mm-hmm', 'uh-huh', 'yeah', 'okay', 'I see']
const INTERRUPTIONS = [
  'Wait, stop, I meant Friday not Tuesday.',
  'Sorry, can you repeat the first part?',
  'Hold on, that is not what I asked.',
  'No, actually, tell me about tomorrow instead.'
]
export type CoughKind = 'white-noise' | 'low-noise' | 'voiced' | 'vowel' | 'double'
const COUGHS: CoughKind[] = ['white-noise', 'voiced', 'low-noise', 'vowel', 'double']
const SEGMENT_AFTER_MS = [1000, 1150, 1300, 1450, 1200]

/** Answer to anything the script does not know (a cut-off part, a backchannel turn, an interruption). */
export const FALLBACK_ANSWER = 'Sorry, could you say that again?'

function duringAnswer (category: Category, index: number, segment: PartSpec): ItemSpec {
  const [question, answer] = LONG[index % LONG.length] as [string, string]
  return { id: `${category}-${index + 1}`, category, parts: [say(question), segment], answer, segmentAfterMs: SEGMENT_AFTER_MS[index % SEGMENT_AFTER_MS.length] as number }
}

/** Every item, categories interleaved (so `--items N` keeps a mix and no category runs all at once). */
export function corpusSpecs (): ItemSpec[] {
  const lists: ItemSpec[][] = [
    COMPLETE.map(([text, answer], i) => ({ id: `complete-${i + 1}`, category: 'complete', parts: [say(text)], answer })),
    PAUSED.map(([first, pauseMs, rest, answer], i) => ({ id: `paused-${i + 1}`, category: 'paused', parts: [say(first), say(rest, pauseMs)], answer })),
    DICTATION.map(([parts, answer], i) => ({ id: `dictation-${i + 1}`, category: 'dictation', parts: parts.map(([pauseMs, text]) => say(text, pauseMs)), answer })),
    BACKCHANNELS.map((text, i) => duringAnswer('backchannel', i, say(text))),
    COUGHS.map((cough, i) => duringAnswer('cough', i, { text: '', pauseBeforeMs: 0, source: { cough } })),
    INTERRUPTIONS.map((text, i) => duringAnswer('interruption', i, say(text)))
  ]
  const out: ItemSpec[] = []
  for (let i = 0; lists.some(list => i < list.length); i++) {
    for (const list of lists) if (i < list.length) out.push(list[i] as ItemSpec)
  }
  return out
}

/** The corpus with its audio (48 kHz mono, trimmed at |sample| < 300), optionally only some categories. */
export async function loadCorpus (limit?: number, only?: readonly Category[]): Promise<Item[]> {
  const specs = corpusSpecs().filter(spec => only === undefined || only.includes(spec.category)).slice(0, limit)
  // One synthesis per phrase: the speech helper's temporary file names would clash for the same phrase.
  const speech = new Map<string, Promise<Int16Array>>()
  const synthesize = async (text: string): Promise<Int16Array> => {
    let pcm = speech.get(text)
    if (pcm === undefined) speech.set(text, pcm = synthesizeSpeech(text, SAMPLE_RATE_HZ))
    return await pcm
  }
  return await Promise.all(specs.map(async spec => ({
    ...spec,
    audio: await Promise.all(spec.parts.map(async part => 'say' in part.source ? await synthesize(part.source.say) : cough(part.source.cough, await synthesize('ahem'))))
  })))
}

/**
 * A cough of ~150 ms at 48 kHz, peak 16000, with a 5 ms attack and an exponential decay (τ 50 ms):
 * - `white-noise`, `low-noise` (below ~800 Hz): noise bursts;
 * - `voiced`: a glottal pulse train at a falling pitch (120 Hz) through two formant resonators, plus noise;
 * - `vowel`: the first 150 ms of espeak-ng's "ahem" (`ahem` is that audio, an open vowel) under the
 *   same envelope, with some noise: a voiced cough;
 * - `double`: a `voiced` and a `vowel` cough 120 ms apart ("cough-cough", 420 ms).
 * Scored by Silero v5 directly (48 k → 16 k, after 5 s of silence) the noise bursts stay below 0.05 and
 * the voiced ones reach 0.85-0.88 (4-5 windows ≥ 0.35: an onset, short of the 250 ms of speech that
 * confirm it). Whether the server's VAD fires after Opus is what the bench reports.
 */
export function cough (kind: CoughKind, ahem: Int16Array, seed = 3): Int16Array {
  const rate = SAMPLE_RATE_HZ
  if (kind === 'double') {
    const one = cough('voiced', ahem, seed)
    const out = new Int16Array(one.length * 2 + rate * 0.12)
    out.set(one, 0)
    out.set(cough('vowel', ahem, seed + 1), one.length + rate * 0.12)
    return out
  }
  const n = Math.round(0.15 * rate)
  const buf = new Float32Array(n)
  let state = seed >>> 0
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 0x100000000 * 2 - 1
  }
  const resonator = (hz: number, bandwidthHz: number): (x: number) => number => {
    const r = Math.exp(-Math.PI * bandwidthHz / rate)
    const c = 2 * r * Math.cos(2 * Math.PI * hz / rate)
    let y1 = 0
    let y2 = 0
    return (x) => { const y = x + c * y1 - r * r * y2; y2 = y1; y1 = y; return y }
  }
  const r1 = resonator(500, 120)
  const r2 = resonator(1500, 180)
  let lowPass1 = 0
  let lowPass2 = 0
  let phase = 0
  for (let i = 0; i < n; i++) {
    const ms = i / rate * 1000
    const envelope = ms < 5 ? ms / 5 : Math.exp(-(ms - 5) / 50)
    let x = random()
    if (kind === 'low-noise') {
      lowPass1 += 0.1 * (x - lowPass1)
      lowPass2 += 0.1 * (lowPass1 - lowPass2)
      x = lowPass2
    } else if (kind === 'voiced') {
      phase += 120 * (1 - 0.3 * i / n) / rate
      let pulse = 0
      if (phase >= 1) { phase -= 1; pulse = 1 }
      const excitation = pulse * 8 + x * 0.4
      x = r1(excitation) + 0.5 * r2(excitation)
    } else if (kind === 'vowel') {
      x = ((ahem[i] ?? 0) / 32768) + x * 0.15
    }
    buf[i] = x * envelope
  }
  let peak = 0
  for (const v of buf) peak = Math.max(peak, Math.abs(v))
  const out = new Int16Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.round((buf[i] as number) / peak * 16000)
  return out
}
