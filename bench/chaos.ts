/**
 * Chaos: many conversations at once through real WebRTC clients speaking real speech (espeak-ng), with
 * faults injected from a seeded schedule, and invariants checked all along (bench/chaos/run.ts):
 * every turn ends in exactly one way, no session is lost while its client reconnects within the grace,
 * the saved history equals what was heard, no audio after `tts-cancelled`, servers back to their
 * baseline after each phase, event-loop p99 under a bound. Fails (exit 1) at the first broken invariant,
 * printing the seed and the event trail. See docs/reliability.md#chaos.
 *
 * Run: `npx tsx bench/chaos.ts [--minutes 60 (of chaos, after the start-up)] [--sessions 50] [--seed 1] [--servers 2] [--phase-minutes 10]
 * [--per-minute <injections a minute, default max(6, 0.7 × sessions)>] [--grace-ms 20000]
 * [--provider-timeout-ms 4000] [--loop-p99-ms 300] [--heap-slack-mb 16] [--kinds drop,ice-restart,...]
 * [--json <file>]`.
 * Needs espeak-ng and redis-server. Runs inside a loopback-only network namespace when it can.
 */
import { writeFileSync } from 'node:fs'
import { guard } from './guard.js'
import { formatSummary, runChaos } from './chaos/run.js'
import { WEIGHTS, type InjectionKind } from './chaos/schedule.js'
import { isolateNetwork } from './webrtc-test-client.js'

isolateNetwork()
const args = process.argv.slice(2)
function flag (name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(args[i + 1])
  if (!Number.isFinite(value)) throw new TypeError(`--${name}: expected a number, instead got ${String(args[i + 1])}`)
  return value
}
const jsonIndex = args.indexOf('--json')
const jsonFile = jsonIndex >= 0 ? args[jsonIndex + 1] : undefined
const kindsIndex = args.indexOf('--kinds')
const kinds = kindsIndex >= 0 ? String(args[kindsIndex + 1]).split(',') as InjectionKind[] : undefined
for (const kind of kinds ?? []) if (!(kind in WEIGHTS)) throw new TypeError(`--kinds: expected some of ${Object.keys(WEIGHTS).join(',')}, instead got ${kind}`)
const minutes = flag('minutes', 60)
const sessions = flag('sessions', 50)
const options = {
  minutes,
  sessions,
  seed: flag('seed', 1),
  servers: flag('servers', 2),
  phaseMinutes: flag('phase-minutes', Math.min(10, minutes)),
  perMinute: flag('per-minute', Math.max(6, 0.7 * sessions)),
  reconnectGraceMs: flag('grace-ms', 20_000),
  providerTimeoutMs: flag('provider-timeout-ms', 4000),
  loopP99Ms: flag('loop-p99-ms', 300),
  heapSlackMB: flag('heap-slack-mb', 16),
  ...(kinds !== undefined ? { kinds } : {}),
  log: (line: string) => { console.error(line) }
}
guard((minutes + 10) * 60_000)
console.error(`chaos: seed ${options.seed}, ${sessions} sessions, ${minutes} min, ${options.servers} servers, ${options.perMinute} injections a minute`)
const summary = await runChaos(options)
console.log(formatSummary(summary))
if (summary.violation !== undefined) {
  console.log(`\nBROKEN INVARIANT (seed ${summary.seed}): ${summary.violation}\nEvent trail (last ${summary.trail?.length ?? 0}):`)
  for (const line of summary.trail ?? []) console.log(line)
}
if (jsonFile !== undefined) writeFileSync(jsonFile, JSON.stringify(summary, null, 2))
process.exit(summary.violation === undefined ? 0 : 1)
