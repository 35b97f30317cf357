import t from 'tap'
import { WebRTCTestClient, isolateNetwork } from '../helpers/webrtc-client.js'
import { ResourceCounter, watchCrashes } from '../faults/reliability-helpers.js'
import { SAMPLE_HEADER, exposeGc, heapAfterGc, sampleRow, soakApp, soakDriver } from './soak-driver.js'

/*
 * Soak: one app through a few hundred turns, socket connect/disconnect cycles and WebRTC connect/close
 * cycles (instant providers, real loopback sockets, peers in a loopback-only network namespace). Once
 * the clients are gone, everything they made must be gone too: sessions, pipelines, peers, sockets,
 * timers, child processes, and the heap must not have grown with the work done. The longer run is
 * `npx tsx bench/soak.ts` (docs/benchmarks.md).
 */
isolateNetwork()
const crashes = watchCrashes(t)

/** Heap growth allowed over the whole run (after full collections): far below what a per-turn or per-connection leak would add. */
const HEAP_GROWTH_LIMIT_BYTES = 12 * 1024 * 1024

t.test('after 200+ turns, 20 socket cycles and 10 WebRTC cycles, nothing is left behind and the heap has not grown', async t => {
  const gc = exposeGc()
  const app = await soakApp()
  t.teardown(() => app.close())
  const counter = new ResourceCounter().start()
  t.teardown(() => { counter.stop() })
  const driver = soakDriver(app, WebRTCTestClient, counter, gc)

  // Warm-up: every code path once (JIT, lazy modules, the VAD model's first session, wrtc's threads).
  await driver.run({ longSessionTurns: 5, socketCycles: 2, turnsPerCycle: 2, webrtcCycles: 2 }, 'warm-up: ')
  const warm = await driver.drain('warm-up drained')
  const baseline = warm.resources

  await driver.run({ longSessionTurns: 100, socketCycles: 20, turnsPerCycle: 5, webrtcCycles: 10 })
  const end = await driver.drain('drained')
  t.comment(`\n${SAMPLE_HEADER}\n${driver.samples.map(sampleRow).join('\n')}`)

  t.same(driver.failedTurns, [], `all ${end.turns} turns completed`)
  t.ok(end.turns - warm.turns >= 205, `${end.turns - warm.turns} turns after the warm-up`)
  t.same({ sessions: end.sessions, pipelines: end.pipelines, peers: end.peers, connections: end.connections }, { sessions: 0, pipelines: 0, peers: 0, connections: 0 },
    'no session, pipeline, peer or connection is left')
  const excess = await counter.settle(baseline, { default: 2, 'Timer (any)': 6, ProcessWrap: 0 })
  t.same(excess, {}, `live resources back to the warm-up's ${JSON.stringify(baseline)}`)
  const heapGrowth = await heapAfterGc(gc) - warm.heapUsedBytes
  t.ok(heapGrowth < HEAP_GROWTH_LIMIT_BYTES, `heap after gc grew by ${(heapGrowth / 1048576).toFixed(2)} MB (limit ${HEAP_GROWTH_LIMIT_BYTES / 1048576} MB)`)
  t.same(crashes, [], 'no uncaught exception or unhandled rejection')
})
