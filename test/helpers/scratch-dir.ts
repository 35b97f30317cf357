import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'

const scratchDirs: string[] = []
t.teardown(() => { for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true }) })

/** A temporary folder, removed when the test file's tests end. */
export function scratchDir (): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmrtc-local-test-'))
  scratchDirs.push(dir)
  return dir
}
