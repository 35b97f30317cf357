import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cleanEnv } from '../helpers/child-server.js'
import { scratchDir } from '../helpers/scratch-dir.js'

// `llmrtc-backend eval`, run as users run it: the built CLI (npm test builds first), with an empty
// environment, so the built-in assistant answers (no key, no network).
const cli = join(fileURLToPath(new URL('../../', import.meta.url)), 'dist/bin/llmrtc-backend.js')

interface Run { code: number | null, stdout: string, stderr: string }

async function run (args: string[], cwd: string): Promise<Run> {
  return await new Promise(resolve => {
    execFile(process.execPath, [cli, ...args], { cwd, env: cleanEnv() }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stdout, stderr })
    })
  })
}

const passing = `name: Repeat after me
steps:
  - user: repeat after me, the cat sat on the mat
    expect:
      contains: the cat sat on the mat
      notCalled: lookup_order
`
const failing = `name: Wrong word
steps:
  - user: repeat after me, the cat sat on the mat
    expect:
      contains: the dog
`

t.test('eval exits 0 with "1 passed, 0 failed" when every scenario passes', async t => {
  const dir = scratchDir()
  writeFileSync(join(dir, 'repeat.yaml'), passing)
  const result = await run(['eval', 'repeat.yaml'], dir)
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'PASS  Repeat after me (repeat.yaml)\n' +
    result.stdout.split('\n')[1] + '\n' +
    '1 passed, 0 failed\n')
  t.match(result.stdout.split('\n')[1], /^ {2}✓ step 1: "repeat after me, the cat sat on the mat" {2}\[first audio \d+ ms\]$/)
})

t.test('eval exits 1 when a scenario fails, reports the step, and counts both in the summary', async t => {
  const dir = scratchDir()
  writeFileSync(join(dir, 'a-repeat.yaml'), passing)
  writeFileSync(join(dir, 'b-wrong.yaml'), failing)
  const result = await run(['eval', '.'], dir)
  t.equal(result.code, 1)
  t.match(result.stdout, /^PASS {2}Repeat after me \(a-repeat\.yaml\)\n/)
  t.match(result.stdout, /FAIL {2}Wrong word \(b-wrong\.yaml\)\n {2}✗ step 1: "repeat after me, the cat sat on the mat".*\n {6}contains: expected the answer contains "the dog", instead got "the cat sat on the mat\."\n/)
  t.ok(result.stdout.endsWith('1 passed, 1 failed\n'), result.stdout)
})

t.test('eval exits 2 for a bad scenario file, a bad flag or no scenario, saying what is wrong; --help shows the usage', async t => {
  const dir = scratchDir()
  writeFileSync(join(dir, 'bad.yaml'), 'steps:\n  - user: hi\n    expect: { stage: 3 }\n')
  const [bad, mode, none, help] = await Promise.all([
    run(['eval', 'bad.yaml'], dir),
    run(['eval', '--mode', 'video', 'bad.yaml'], dir),
    run(['eval'], dir),
    run(['eval', '--help'], dir)
  ])
  t.equal(bad.code, 2)
  t.equal(bad.stderr, 'llmrtc-backend eval: Invalid scenario bad.yaml: step 1, expect.stage: expected a stage id, instead got 3\n')
  t.equal(bad.stdout, '', 'nothing ran')
  t.equal(mode.code, 2)
  t.match(mode.stderr, /invalid --mode: expected text or audio, instead got "video"/)
  t.equal(none.code, 2)
  t.match(none.stderr, /no scenarios: give scenario files or directories/)
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: llmrtc-backend eval \[options\] <scenario files or directories>/)
  t.match(help.stdout, /-m, --mode <text\|audio>/)
})
