/**
 * The silence to wait, in ms, before ending a turn that is finished with probability `p`:
 *
 *     wait = min + (max − min) · (1 − p)²
 *
 * p = 1 waits `minEndpointMs`, p = 0 waits `maxEndpointMs`, and the wait never increases with p. The curve
 * is quadratic so that confident predictions stay close to the minimum (p = 0.9 → min + 1 % of the range)
 * while doubt is paid for mostly at the low end; with the defaults (200-1600 ms) p = 0.5 waits 550 ms,
 * the fixed wait the VAD used before, so an undecided detector behaves as before. A `p` outside 0-1 is
 * clamped; NaN counts as 0.5 (unknown). The result is rounded to a whole millisecond.
 */
export function endpointForProbability (p: number, minEndpointMs: number, maxEndpointMs: number): number {
  const probability = Number.isNaN(p) ? 0.5 : Math.min(1, Math.max(0, p))
  const doubt = 1 - probability
  return Math.round(minEndpointMs + (maxEndpointMs - minEndpointMs) * doubt * doubt)
}
