/**
 * CPU time per thread and memory of a process tree, read from /proc (Linux), for benchmarks that
 * measure a server from outside: its JS thread apart from its native threads, and every process of a
 * server that forks workers. Times in ms of CPU (utime + stime, 10 ms ticks).
 */
import { readFileSync, readdirSync } from 'node:fs'

const TICK_MS = 10

/** CPU ms used so far by each thread of `pids`, keyed `pid/tid`, with the thread's group name. */
export function threadTimes (pids: readonly number[]): Map<string, { group: string, ms: number }> {
  const times = new Map<string, { group: string, ms: number }>()
  for (const pid of pids) {
    let tids: string[]
    try {
      tids = readdirSync(`/proc/${pid}/task`)
    } catch {
      continue // the process ended
    }
    for (const tid of tids) {
      let stat: string
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      } catch {
        continue // the thread ended
      }
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const group = tid === String(pid) ? 'JS main thread' : threadGroup(name)
      times.set(`${pid}/${tid}`, { group, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS })
    }
  }
  return times
}

/**
 * CPU of each thread group between two `threadTimes` readings, % of one core over `windowMs`. Threads
 * that started in between count from 0; threads that ended in between are missed.
 */
export function groupPercents (before: Map<string, { ms: number }>, after: Map<string, { group: string, ms: number }>, windowMs: number): Record<string, number> {
  const percents: Record<string, number> = {}
  for (const [key, { group, ms }] of after) {
    percents[group] = (percents[group] ?? 0) + (ms - (before.get(key)?.ms ?? 0)) / windowMs * 100
  }
  return percents
}

/**
 * A thread's group: libwebrtc, onnxruntime, V8 and libuv name their threads (Linux keeps 15
 * characters); numbered siblings are one group.
 */
export function threadGroup (name: string): string {
  if (name.startsWith('PeerConnection')) return 'PeerConnectionFactory (signaling, worker, network)'
  if (name.startsWith('AudioEncoder')) return 'AudioEncoder (Opus)'
  if (name.startsWith('TestAudioDevice')) return 'TestAudioDevice (audio device: decode, mix)'
  if (name.startsWith('TaskQueuePaced') || name.startsWith('PacerThread')) return 'pacer'
  if (name.startsWith('rtp_send') || name.startsWith('rtcp') || name.startsWith('ModuleProcess') || name.startsWith('rtp')) return 'RTP/RTCP'
  if (name === 'node' || name.startsWith('V8') || name.startsWith('DelayedTask')) return 'V8 (GC, compiler)'
  if (name.startsWith('libuv') || name.startsWith('worker')) return 'libuv pool'
  if (/onnx|ort/i.test(name)) return 'onnxruntime'
  return name.replace(/[0-9]+$/, 'N')
}

/** `pid` and all its descendants (from each process's parent id in /proc/<pid>/stat). */
export function processTree (pid: number): number[] {
  const parents = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {}
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child)
  }
  return tree
}

/** The command name of `pid` (15 characters), '' when it ended. */
export function processName (pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}

/** Resident memory of `pid`, MB (VmRSS; 0 when it ended). */
export function rssMB (pid: number): number {
  try {
    const match = /VmRSS:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? 0 : Number(match[1]) / 1024
  } catch {
    return 0
  }
}
