/**
 * The long soak: the run of test/soak/soak.test.ts, repeated for many rounds on one app, printing what
 * the process holds after each phase (a markdown table) and the heap's trend. A leak shows as a column
 * that keeps growing round after round; the test's short run only bounds it.
 * Run: `npx tsx bench/soak.ts [rounds] [turnsPerRound]`, e.g. `npx tsx bench/soak.ts 20 1000`
 * (defaults: 10 rounds of 500 turns on one session, 40 socket cycles of 5 turns, 20 WebRTC cycles).
 * Runs inside a loopback-only network namespace when it can.
 */
import { ResourceCounter } from '../test/faults/reliability-helpers.js'
import { SAMPLE_HEADER, exposeGc, sampleRow, soakApp, soakDriver } from '../test/soak/soak-driver.js'
import { guard } from './guard.js'
import { WebRTCTestClient, isolateNetwork } from './webrtc-test-client.js'

isolateNetwork()
const ROUNDS = Number(process.argv[2] ?? 10)
const TURNS = Number(process.argv[3] ?? 500)
guard(60 * 60_000)

const gc = exposeGc()
const app = await soakApp()
const counter = new ResourceCounter().start()
const driver = soakDriver(app, WebRTCTestClient, counter, gc)
const started = Date.now()

console.log(`# Soak: ${ROUNDS} rounds of ${TURNS} turns on one session, 40 socket cycles of 5 turns and 20 WebRTC cycles\n`)
await driver.run({ longSessionTurns: 5, socketCycles: 2, turnsPerCycle: 2, webrtcCycles: 2 }, 'warm-up: ')
const warm = await driver.drain('warm-up drained')
const heaps: number[] = []
for (let round = 1; round <= ROUNDS; round++) {
  await driver.run({ longSessionTurns: TURNS, socketCycles: 40, turnsPerCycle: 5, webrtcCycles: 20 }, `round ${round}: `)
  const drained = await driver.drain(`round ${round} drained`)
  heaps.push(drained.heapUsedBytes)
  console.error(`round ${round}/${ROUNDS}: ${drained.turns} turns, heap ${(drained.heapUsedBytes / 1048576).toFixed(1)} MB, ${Math.round((Date.now() - started) / 1000)} s`)
}
console.log(SAMPLE_HEADER)
for (const sample of driver.samples) console.log(sampleRow(sample))

const MB = 1048576
const half = Math.floor(heaps.length / 2)
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
console.log(`\n- Turns: ${driver.samples.at(-1)?.turns ?? 0}, failed: ${driver.failedTurns.length}${driver.failedTurns.length > 0 ? ` (${driver.failedTurns.slice(0, 5).join('; ')})` : ''}`)
console.log(`- Heap after gc once drained: warm-up ${(warm.heapUsedBytes / MB).toFixed(1)} MB; rounds ${heaps.map(h => (h / MB).toFixed(1)).join(', ')} MB`)
console.log(`- Mean drained heap, first half of the rounds ${(mean(heaps.slice(0, half)) / MB).toFixed(2)} MB, second half ${(mean(heaps.slice(half)) / MB).toFixed(2)} MB`)
console.log(`- Wall time ${Math.round((Date.now() - started) / 1000)} s`)
counter.stop()
await app.close()
process.exit(driver.failedTurns.length > 0 ? 1 : 0)
