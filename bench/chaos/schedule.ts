/**
 * The chaos bench's seeded randomness: one `Random` (mulberry32) per purpose, derived from `--seed`,
 * so the same seed gives the same schedule of injections (kinds, targets, gaps) and the same client
 * choices. (What the machine does with them, timing included, is not reproducible; the schedule is.)
 */
export class Random {
  #state: number

  constructor (seed: number) {
    this.#state = seed >>> 0
  }

  /** A float in [0, 1). */
  next (): number {
    this.#state = (this.#state + 0x6D2B79F5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [0, n). */
  int (n: number): number { return Math.floor(this.next() * n) }

  pick<T> (list: readonly T[]): T { return list[this.int(list.length)] as T }

  /** A new generator for a sub-purpose (`salt` tells them apart). */
  derive (salt: number): Random { return new Random(Math.imul(this.#state ^ salt, 2654435761) ^ salt) }
}

export type InjectionKind =
  | 'drop' | 'ice-restart' | 'barge-in' | 'cough' | 'flood'
  | 'provider-refused' | 'provider-hang' | 'provider-5xx' | 'provider-cut' | 'provider-malformed' | 'provider-slow'
  | 'drain-restart' | 'kill-restart'

/** Relative weights of the kinds after the first round (which has every kind once, in a seeded order). */
export const WEIGHTS: Record<InjectionKind, number> = {
  drop: 3,
  'ice-restart': 2,
  'barge-in': 3,
  cough: 2,
  flood: 1,
  'provider-refused': 1,
  'provider-hang': 1,
  'provider-5xx': 1,
  'provider-cut': 1,
  'provider-malformed': 1,
  'provider-slow': 1,
  'drain-restart': 0.4,
  'kill-restart': 0.3
}

export interface Injection { kind: InjectionKind, target: number, role: 'stt' | 'llm' | 'tts', gapMs: number }

/**
 * The endless schedule: gaps drawn from an exponential distribution of mean `60 000 / perMinute` ms;
 * the first `kinds.length` injections are each kind once (shuffled), so a short run covers them all.
 */
export function * schedule (random: Random, kinds: readonly InjectionKind[], sessions: number, perMinute: number): Generator<Injection> {
  const firstRound = [...kinds]
  for (let i = firstRound.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    ;[firstRound[i], firstRound[j]] = [firstRound[j] as InjectionKind, firstRound[i] as InjectionKind]
  }
  const total = kinds.reduce((sum, k) => sum + WEIGHTS[k], 0)
  const meanMs = 60_000 / perMinute
  for (;;) {
    let kind = firstRound.shift()
    if (kind === undefined) {
      let x = random.next() * total
      for (const k of kinds) {
        x -= WEIGHTS[k]
        if (x < 0) { kind = k; break }
      }
      kind ??= kinds[kinds.length - 1] as InjectionKind
    }
    const gapMs = Math.min(meanMs * 4, -Math.log(1 - random.next()) * meanMs)
    yield { kind, target: random.int(sessions), role: random.pick(['stt', 'llm', 'tts'] as const), gapMs }
  }
}
