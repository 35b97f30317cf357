import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function sources (dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter(entry => entry.isFile() && entry.name.endsWith('.ts'))
    .map(entry => relative(ROOT, join(entry.parentPath, entry.name)))
}

t.test('lib/ and plugins/ read the time only through a Clock (lib/clock.ts is the one place that reads it)', async t => {
  const reads: string[] = []
  for (const file of [...sources('lib'), ...sources('plugins')]) {
    if (file === join('lib', 'clock.ts')) continue
    readFileSync(join(ROOT, file), 'utf8').split('\n').forEach((line, i) => {
      if (/\bDate\.now\(\)|\bperformance\.now\(\)|\bnew Date\(\)/.test(line)) reads.push(`${file}:${i + 1}: ${line.trim()}`)
    })
  }
  t.same(reads, [], 'no Date.now(), performance.now() or new Date() elsewhere: use the injected clock')
})
