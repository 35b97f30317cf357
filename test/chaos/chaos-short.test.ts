import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { ChaosSummary } from '../../bench/chaos/run.js'
import { WEIGHTS, type InjectionKind } from '../../bench/chaos/schedule.js'
import { scratchDir } from '../helpers/scratch-dir.js'

// The chaos bench (bench/chaos.ts, docs/reliability.md#chaos), short: a fixed seed, three sessions of
// real WebRTC clients speaking espeak-ng speech on two servers sharing a redis-server, every kind of
// injection at least once (the schedule's first round has each kind once). Asserts that no invariant
// broke and that each kind was injected, never durations. The bench runs as a child process: it
// re-runs itself in a loopback-only network namespace when it can, and owns its servers.
const root = fileURLToPath(new URL('../../', import.meta.url))
const SEED = 5
// Start-up, 1.5 minutes of chaos, the last turns, the grace and the baseline checks: ~3 minutes loaded.
t.setTimeout(8 * 60_000)

t.test('a short chaos run (seed 5, 3 sessions, 2 servers, every kind of injection) breaks no invariant', async t => {
  const json = join(scratchDir(), 'chaos.json')
  const args = ['--import', 'tsx', join(root, 'bench/chaos.ts'), '--seed', String(SEED), '--minutes', '1.5', '--phase-minutes', '1.5',
    '--sessions', '3', '--servers', '2', '--per-minute', '30', '--grace-ms', '10000', '--json', json]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const code = await new Promise<number | null>(resolve => { child.once('exit', resolve) })
  const summary = JSON.parse(readFileSync(json, 'utf8')) as ChaosSummary

  t.equal(summary.violation, undefined, 'no invariant broke')
  t.equal(code, 0, `the bench exits 0\n${output.slice(-6000)}`)
  t.equal(summary.seed, SEED)
  t.ok(summary.ends.completed > 0, `turns completed (${JSON.stringify(summary.ends)})`)
  t.ok(summary.invariantChecks > summary.turns, `invariants were checked (${summary.invariantChecks} checks)`)
  const missing = (Object.keys(WEIGHTS) as InjectionKind[]).filter(kind => (summary.injections[kind] ?? 0) === 0)
  t.same(missing, [], `every kind was injected: ${JSON.stringify(summary.injections)}`)
  t.ok(summary.reconnects >= 1, 'sessions resumed after drops and the drain')
})
