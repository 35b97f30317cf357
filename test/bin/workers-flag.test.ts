import { request } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cleanEnv, startChild } from '../helpers/child-server.js'

// `llmrtc-backend --workers`, run as users run it: the built CLI (npm test builds first).
const cli = join(fileURLToPath(new URL('../../', import.meta.url)), 'dist/bin/llmrtc-backend.js')

/** GET /health on a new connection (no keep-alive), so that node:cluster hands it to the next worker. */
async function health (url: string): Promise<{ worker?: number }> {
  return await new Promise((resolve, reject) => {
    request(`${url}/health`, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve(JSON.parse(body) as { worker?: number }) })
    }).on('error', reject).end()
  })
}

t.test('a bad --workers exits with 2, a bad WORKERS with 1, each saying what is expected; --help lists the flag', async t => {
  const [zero, word, env, help] = [
    startChild(t, process.execPath, [cli, '--workers', '0'], cleanEnv()),
    startChild(t, process.execPath, [cli, '--workers', 'many'], cleanEnv()),
    startChild(t, process.execPath, [cli, '-p', '0'], cleanEnv({ WORKERS: 'lots' })),
    startChild(t, process.execPath, [cli, '--help'], cleanEnv())
  ]
  t.equal((await zero.exited).code, 2)
  t.match(zero.output(), /invalid --workers: expected a positive integer or "auto", instead got "0"/)
  t.equal((await word.exited).code, 2)
  t.match(word.output(), /invalid --workers: expected a positive integer or "auto", instead got "many"/)
  t.equal((await env.exited).code, 1)
  t.match(env.output(), /Invalid environment variable WORKERS: expected a positive integer or "auto", instead got "lots"/)
  t.equal((await help.exited).code, 0)
  t.match(help.output(), /--workers <n\|auto> {2}processes sharing the port, auto: one per core \(env WORKERS, default 1\)/)
  t.match(help.output(), /\n {2}WORKERS {16}/, 'WORKERS is listed with the server\'s variables')
})

t.test('llmrtc-backend --workers 2: one port for both, one banner, SIGTERM drains both and exits 0', async t => {
  const run = startChild(t, process.execPath, [cli, '--workers', '2', '--port', '0'], cleanEnv())
  const [, url = ''] = await run.waitFor(/llmrtc is listening on (http:\/\/127\.0\.0\.1:\d+) with 2 workers/)
  await run.waitFor(/All options: /)
  const workers = new Set([(await health(url)).worker, (await health(url)).worker])
  t.same([...workers].sort(), [1, 2], 'both workers answer on the port')
  t.equal(run.output().match(/llmrtc is ready: open/g)?.length, 1, 'the first worker prints the banner, once')
  run.child.kill('SIGTERM')
  t.same(await run.exited, { code: 0, signal: null })
  t.equal(run.output().match(/"msg":"drained: no turn in progress"/g)?.length, 2, 'both workers drained')
})
