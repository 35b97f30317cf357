import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { formatBanner } from '../../bin/banner.js'
import { cleanEnv, startChild } from '../helpers/child-server.js'
import { freePort } from '../helpers/free-port.js'

// The launchers are tested as users run them: the built files (npm test builds first).
const root = fileURLToPath(new URL('../../', import.meta.url))
const cli = join(root, 'dist/bin/llmrtc-backend.js')
const fastifyCli = join(root, 'node_modules/fastify-cli/cli.js')

t.test('llmrtc-backend starts with an empty environment and serves / and /health', async t => {
  const run = startChild(t, process.execPath, [cli, '--port', '0'], cleanEnv())
  const [, url] = await run.waitFor(/llmrtc is listening on (http:\/\/127\.0\.0\.1:\d+)/)
  t.same(await (await fetch(`${url}/health`)).json(), { ok: true })
  const page = await fetch(`${url}/`)
  t.equal(page.status, 200, 'and the voice page on /')
  t.match(await page.text(), /<title>llmrtc voice<\/title>/)
  t.match(run.output(), /"msg":"provider selected"/)
  run.child.kill('SIGTERM')
  t.same(await run.exited, { code: 0, signal: null }, 'SIGTERM stops it cleanly with exit 0')
})

t.test('llmrtc-backend with an empty environment prints a banner: each role\'s provider and why, the URL, the line for a real model', async t => {
  const run = startChild(t, process.execPath, [cli, '--port', '0'], cleanEnv())
  const [, url] = await run.waitFor(/llmrtc is ready: open (http:\/\/127\.0\.0\.1:\d+)\/ \(voice WebSocket ws:\/\/127\.0\.0\.1:\d+\/\)/)
  t.equal((await fetch(`${url}/health`)).status, 200)
  await run.waitFor(/All options: npm start -- --help, docs\/providers\.md/)
  // The banner says what the logs say: whichever providers this machine has (espeak-ng, pocketsphinx).
  for (const { role, provider, reason } of selected(run.output())) {
    t.ok(run.output().includes(`  ${role.toUpperCase()}  ${provider.padEnd(24)} ${reason}\n`), `the banner names the ${role} provider and why: ${provider} (${reason})`)
  }
  t.equal(selected(run.output()).find(s => s.role === 'llm')?.provider, 'builtin-assistant')
  t.match(run.output(), /For a real model set OPENAI_API_KEY=sk-\.\.\. {2}\(or a local server: LLM_PROVIDER=openai OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:11434\/v1\)/)
  run.child.kill('SIGTERM')
  t.same(await run.exited, { code: 0, signal: null })
})

t.test('llmrtc-backend with LOCAL_ONLY=true ignores a cloud key and says why in the banner', async t => {
  const run = startChild(t, process.execPath, [cli, '--port', '0'], cleanEnv({ LOCAL_ONLY: 'true', OPENAI_API_KEY: 'sk-proj-banner-secret-1234' }))
  await run.waitFor(/All options: npm start -- --help/)
  const roles = selected(run.output())
  t.equal(roles.length, 3)
  t.ok(roles.every(r => r.reason.startsWith('LOCAL_ONLY=true') && !r.provider.startsWith('openai')), roles.map(r => `${r.provider}: ${r.reason}`).join('; '))
  t.notMatch(run.output(), /banner-secret/, 'the key is never printed')
  run.child.kill('SIGTERM')
  await run.exited
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

t.test('the banner comes after the log lines written before it, never between two', async t => {
  const run = startChild(t, process.execPath, [cli, '--port', '0'], cleanEnv())
  await run.waitFor(/All options: .*\n\n/)
  const output = run.output()
  const banner = output.slice(output.indexOf('\nllmrtc is ready'), output.indexOf('All options'))
  t.notMatch(banner, /"level":/, 'no log line inside the banner')
  const before = output.slice(0, output.indexOf('\nllmrtc is ready'))
  t.match(before, /"msg":"VAD model ready"/)
  t.match(before, /"msg":"llmrtc is listening on http:\/\/127\.0\.0\.1:\d+/, 'the listening line is written before the banner')
  run.child.kill('SIGTERM')
  t.same(await run.exited, { code: 0, signal: null })
})

t.test('llmrtc-backend takes fastify-cli\'s flags: -a/--address, -l/--log-level, -h/--help, --version', async t => {
  const quiet = startChild(t, process.execPath, [cli, '-p', '0', '-a', '127.0.0.1', '-l', 'warn'], cleanEnv({ LOG_LEVEL: 'debug' }))
  const [, url] = await quiet.waitFor(/llmrtc is ready: open (http:\/\/127\.0\.0\.1:\d+)\//)
  t.equal((await fetch(`${url}/health`)).status, 200, '-a binds the address')
  t.notMatch(quiet.output(), /"level":(20|30),/, '--log-level warn wins over LOG_LEVEL: no info or debug lines')
  quiet.child.kill('SIGTERM')
  t.same(await quiet.exited, { code: 0, signal: null })

  const version = startChild(t, process.execPath, [cli, '--version'], cleanEnv())
  t.same(await version.exited, { code: 0, signal: null })
  const { version: expected } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  t.equal(version.output(), `${expected}\n`)

  const short = startChild(t, process.execPath, [cli, '-h'], cleanEnv())
  t.same(await short.exited, { code: 0, signal: null })
  t.match(short.output(), /^Usage: llmrtc-backend/, '-h is help')

  const badLevel = startChild(t, process.execPath, [cli, '--log-level', 'loud'], cleanEnv())
  t.equal((await badLevel.exited).code, 2)
  t.match(badLevel.output(), /invalid --log-level: expected one of fatal, error, warn, info, debug, trace, silent, instead got "loud"/)
})

t.test('llmrtc-backend --help lists the options and the environment variables', async t => {
  const run = startChild(t, process.execPath, [cli, '--help'], cleanEnv())
  t.same(await run.exited, { code: 0, signal: null })
  t.match(run.output(), /Usage: llmrtc-backend/)
  t.match(run.output(), /-p, --port/)
  t.match(run.output(), /-a, --address <address>/)
  t.match(run.output(), /-l, --log-level <level>/)
  t.match(run.output(), /-h, --help/)
  t.match(run.output(), /--version/)
  t.match(run.output(), /OPENAI_API_KEY/)
  t.match(run.output(), /SYSTEM_PROMPT/)
  const [providers = '', server = ''] = run.output().split(/^Server:$/m)
  for (const name of ['LLM_PROVIDER', 'STT_PROVIDER', 'TTS_PROVIDER', 'LOCAL_ONLY', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'DEEPGRAM_API_KEY', 'CARTESIA_API_KEY', 'ESPEAK_VOICE', 'ESPEAK_RATE', 'POCKETSPHINX_GRAMMAR', 'POCKETSPHINX_PHRASES']) {
    t.match(providers, new RegExp(`\\n  ${name} `), `${name} is listed with the providers`)
  }
  t.match(providers, /Providers \(per role: \*_PROVIDER if set, else the first key set, else local, else built-in\):/)
  t.match(providers, /LLM_PROVIDER=openai OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:11434\/v1/, 'with an example for a local model')
  t.match(server, /\n {2}PORT /)
  t.notMatch(server, /OPENAI_API_KEY/)
})

t.test('the banner shows where to connect and hints only at what is missing', async t => {
  const builtin = formatBanner({
    host: '0.0.0.0',
    port: 8787,
    path: '/',
    stt: { provider: 'builtin-placeholder-stt', reason: 'default (no provider configured)' },
    llm: { provider: 'builtin-assistant', reason: 'default (no provider configured)' },
    tts: { provider: 'builtin-tone-tts', reason: 'default (no provider configured)' }
  })
  t.match(builtin, /open http:\/\/127\.0\.0\.1:8787\/ \(voice WebSocket ws:\/\/127\.0\.0\.1:8787\/\)/, 'a wildcard bind is shown as loopback')
  t.match(builtin, /For a real model set OPENAI_API_KEY/)
  t.match(builtin, /No speech recognizer: install pocketsphinx/)
  t.match(builtin, /No speech synthesizer: answers are tones. Install espeak-ng/)
  const local = formatBanner({
    host: '::1',
    port: 9000,
    path: '/voice',
    stt: { provider: 'pocketsphinx-stt', reason: 'pocketsphinx is installed (no STT key set)' },
    llm: { provider: 'openai-llm', reason: 'LLM_PROVIDER=openai' },
    tts: { provider: 'espeak-tts', reason: 'espeak-ng is installed (no TTS key set)' }
  })
  t.match(local, /open http:\/\/\[::1\]:9000\/ \(voice WebSocket ws:\/\/\[::1\]:9000\/voice\)/)
  t.match(local, /pocketsphinx understands a few phrases only/)
  t.notMatch(local, /For a real model|No speech synthesizer/)
  const cloud = formatBanner({
    host: '127.0.0.1',
    port: 8787,
    path: '/',
    stt: { provider: 'deepgram-stt', reason: 'DEEPGRAM_API_KEY is set' },
    llm: { provider: 'openai-llm', reason: 'OPENAI_API_KEY is set' },
    tts: { provider: 'cartesia-tts', reason: 'CARTESIA_API_KEY is set' }
  })
  t.notMatch(cloud, /All options/, 'nothing to hint at with real providers')
  t.match(cloud, / {2}LLM {2}openai-llm {15}OPENAI_API_KEY is set\n/)
})

t.test('llmrtc-backend exits with 2 on a bad flag: the error and one line to the help', async t => {
  const badPortFlag = startChild(t, process.execPath, [cli, '--port', 'abc'], cleanEnv())
  t.equal((await badPortFlag.exited).code, 2)
  t.match(badPortFlag.output(), /invalid --port: expected an integer from 0 to 65535, instead got "abc"/)

  const unknownFlag = startChild(t, process.execPath, [cli, '--bogus'], cleanEnv())
  t.equal((await unknownFlag.exited).code, 2)
  t.equal(unknownFlag.output(), 'llmrtc-backend: Unknown option \'--bogus\'\nRun \'npm start -- --help\' for the options.\n', 'not the help itself')
})

t.test('llmrtc-backend exits with 1 on a bad environment, naming the variable, its value and what is expected', async t => {
  const run = (env: Record<string, string>, args = ['-p', '0']): ReturnType<typeof startChild> => startChild(t, process.execPath, [cli, ...args], cleanEnv(env))
  // Independent processes: started together.
  const [badEnv, badIce, badLevel, badPort, badProvider] = [
    run({ HISTORY_LIMIT: 'many' }),
    run({ ICE_SERVERS: '[bad' }),
    run({ LOG_LEVEL: 'loud' }),
    run({ PORT: 'http' }, []),
    run({ LLM_PROVIDER: 'nope' })
  ]
  for (const child of [badEnv, badIce, badLevel, badPort, badProvider]) t.equal((await child.exited).code, 1)
  t.match(badEnv.output(), /cannot start: Invalid environment variable HISTORY_LIMIT: expected an integer >= 0, instead got "many"\n/)
  t.notMatch(badEnv.output(), /\n\s+at /, 'no stack trace')
  t.match(badIce.output(), /Invalid environment variable ICE_SERVERS: expected a JSON array of RTCIceServer or comma-separated URLs, instead got malformed JSON \(Unexpected token 'b'\)\n/)
  t.match(badLevel.output(), /Invalid environment variable LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, instead got "loud"/)
  t.match(badPort.output(), /Invalid environment variable PORT: expected an integer from 0 to 65535, instead got "http"/)
  t.match(badProvider.output(), /Unknown llm provider "nope"/)
})

t.test('fastify start loads dist/app.js (with -o) and serves /health, with llmrtc\'s variables from the environment', async t => {
  const run = startChild(t, process.execPath, [fastifyCli, 'start', '-o', '-l', 'info', '-a', '127.0.0.1', '-p', '0', join(root, 'dist/app.js')], cleanEnv({ METRICS: 'false' }))
  const [, url] = await run.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
  t.same(await (await fetch(`${url}/health`)).json(), { ok: true })
  t.equal((await fetch(`${url}/metrics`)).status, 404, 'METRICS=false was read: app.ts passes process.env')
  run.child.kill('SIGTERM')
  await run.exited
})

/** The `provider selected` log lines of a run. */
function selected (output: string): Array<{ role: string, provider: string, reason: string }> {
  return output.split('\n').filter(line => line.includes('"msg":"provider selected"')).map(line => JSON.parse(line) as { role: string, provider: string, reason: string })
}

t.test('llmrtc-backend loads the PLAYBOOK module at start, and a missing one stops it with exit 1', async t => {
  const run = startChild(t, process.execPath, [cli, '--port', '0'], cleanEnv({ PLAYBOOK: join(root, 'examples/support-playbook.mjs') }))
  await run.waitFor(/llmrtc is listening on/)
  t.match(run.output(), /"playbook":"order-desk","stages":4,"msg":"playbook loaded"/)
  run.child.kill('SIGTERM')
  t.same(await run.exited, { code: 0, signal: null })
  const broken = startChild(t, process.execPath, [cli, '--port', '0'], cleanEnv({ PLAYBOOK: './no-such-playbook.mjs' }))
  t.same(await broken.exited, { code: 1, signal: null })
  t.match(broken.output(), /Cannot load the playbook module \.\/no-such-playbook\.mjs/)
})
