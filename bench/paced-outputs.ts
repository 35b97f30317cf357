/**
 * The main thread's cost of pacing N outputs in real time, with nothing else running: N PacedAudioOutputs
 * on the real (monotonic) clock, started together, silent (as idle sessions are), whose frames go to a
 * sink that only reads one sample. Run: `npx tsx bench/paced-outputs.ts [outputs] [seconds]` (default
 * 100 outputs, 10 s). Prints the process's CPU time (process.cpuUsage) per output in % of one core,
 * the event loop's utilization and the frames emitted.
 */
import { performance } from 'node:perf_hooks'
import { loadavg } from 'node:os'
import { PacedAudioOutput } from '../lib/transport/paced-audio-output.js'

const OUTPUTS = Number(process.argv[2] ?? 100)
const SECONDS = Number(process.argv[3] ?? 10)

let checksum = 0
// Never stopping for idleness (older versions ignore the option): the cost of outputs that emit frames.
const outputs = Array.from({ length: OUTPUTS }, () => new PacedAudioOutput({ idleAfterMs: Infinity, onFrame: (samples) => { checksum += samples[0] ?? 0 } }))
for (const output of outputs) output.start()
await new Promise(resolve => setTimeout(resolve, 1000)) // settle

const cpuBefore = process.cpuUsage()
const elu = performance.eventLoopUtilization()
const framesBefore = outputs.reduce((n, output) => n + output.stats.framesSent, 0)
const start = performance.now()
await new Promise(resolve => setTimeout(resolve, SECONDS * 1000))
const wallMs = performance.now() - start
const cpu = process.cpuUsage(cpuBefore)
const frames = outputs.reduce((n, output) => n + output.stats.framesSent, 0) - framesBefore
const utilization = performance.eventLoopUtilization(elu).utilization
for (const output of outputs) output.close()

const cpuMs = (cpu.user + cpu.system) / 1000
console.log(`${OUTPUTS} outputs for ${(wallMs / 1000).toFixed(1)} s, load average ${loadavg().map(l => l.toFixed(2)).join(' ')}${checksum === 0 ? '' : ' '}`)
console.log(`CPU ${(cpuMs / wallMs * 100).toFixed(2)} % of a core (${(cpuMs / wallMs * 100 / OUTPUTS).toFixed(4)} % per output), event-loop utilization ${(utilization * 100).toFixed(1)} %`)
console.log(`frames ${frames} (${(frames / OUTPUTS / wallMs * 1000).toFixed(1)} per output per s), ${(cpuMs * 1000 / frames).toFixed(2)} µs of CPU per frame`)
process.exit(0)
