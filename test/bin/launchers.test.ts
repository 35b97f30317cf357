import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:net'
import t from 'tap'
import { cleanEnv, startChild } from '../helpers/child-server.js'

// The launchers are tested as users run them: the built files (npm test builds first).
const root = fileURLToPath(new URL('../../', import.meta.url))
const cli = join(root, 'dist/bin/llmrtc-backend.js')
const fastifyCli = join(root, 'node_modules/fastify-cli/cli.js')

t.test('llmrtc-backend starts with an empty environment and serves /health', async t => {
  const run = startChild(t, process.execPath, [cli, '--port', '0'], cleanEnv())
  const [, url] = await run.waitFor(/llmrtc is listening on (http:\/\/127\.0\.0\.1:\d+)/)
  t.same(await (await fetch(`${url}/health`)).json(), { ok: true })
  t.match(run.output(), /"msg":"provider selected"/)
  run.child.kill('SIGTERM')
  t.same(await run.exited, { code: 0, signal: null }, 'SIGTERM stops it cleanly with exit 0')
})

t.test('llmrtc-backend reads .env from the working directory', async t => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'llmrtc-cli-'))
  writeFileSync(join(dir, '.env'), `PORT=${port}\nHOST=127.0.0.1\n`)
  const run = startChild(t, 'sh', ['-c', `cd ${dir} && exec "${process.execPath}" "${cli}"`], cleanEnv())
  const [, url] = await run.waitFor(/llmrtc is listening on (http:\/\/127\.0\.0\.1:\d+)/)
  t.equal(url, `http://127.0.0.1:${port}`, 'PORT and HOST came from .env')
  t.equal((await fetch(`${url}/health`)).status, 200)
  run.child.kill('SIGINT')
  t.same(await run.exited, { code: 0, signal: null })
})

t.test('llmrtc-backend --help lists the options and the environment variables', async t => {
  const run = startChild(t, process.execPath, [cli, '--help'], cleanEnv())
  t.same(await run.exited, { code: 0, signal: null })
  t.match(run.output(), /Usage: llmrtc-backend/)
  t.match(run.output(), /-p, --port/)
  t.match(run.output(), /OPENAI_API_KEY/)
  t.match(run.output(), /SYSTEM_PROMPT/)
})

t.test('llmrtc-backend exits non-zero with a clear message on bad configuration', async t => {
  const badPort = startChild(t, process.execPath, [cli, '--port', 'abc'], cleanEnv())
  t.equal((await badPort.exited).code, 2)
  t.match(badPort.output(), /invalid --port: expected an integer from 0 to 65535, instead got "abc"/)

  const unknownFlag = startChild(t, process.execPath, [cli, '--bogus'], cleanEnv())
  t.equal((await unknownFlag.exited).code, 2)
  t.match(unknownFlag.output(), /Unknown option '--bogus'/)

  const badEnv = startChild(t, process.execPath, [cli, '-p', '0'], cleanEnv({ HISTORY_LIMIT: 'many' }))
  t.equal((await badEnv.exited).code, 1)
  t.match(badEnv.output(), /cannot start: .*HISTORY_LIMIT must be integer/)
  t.notMatch(badEnv.output(), /\n\s+at /, 'no stack trace')

  const badLevel = startChild(t, process.execPath, [cli, '-p', '0'], cleanEnv({ LOG_LEVEL: 'loud' }))
  t.equal((await badLevel.exited).code, 1)
  t.match(badLevel.output(), /option "LOG_LEVEL": expected one of/)

  const badProvider = startChild(t, process.execPath, [cli, '-p', '0'], cleanEnv({ LLM_PROVIDER: 'nope' }))
  t.equal((await badProvider.exited).code, 1)
  t.match(badProvider.output(), /Unknown llm provider "nope"/)
})

t.test('fastify start loads dist/app.js and serves /health', async t => {
  const run = startChild(t, process.execPath, [fastifyCli, 'start', '-l', 'info', '-a', '127.0.0.1', '-p', '0', join(root, 'dist/app.js')], cleanEnv())
  const [, url] = await run.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
  t.same(await (await fetch(`${url}/health`)).json(), { ok: true })
  run.child.kill('SIGTERM')
  await run.exited
})

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}
