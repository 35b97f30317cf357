import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { WebSocket } from 'ws'
import { cleanEnv } from '../helpers/child-server.js'

// The package as a user gets it: `npm pack` of the built tree (npm test builds first), installed into an
// empty app with npm (cached packages first, the registry for the rest), then started the ways
// deploy/llmrtc.service and the Dockerfile start it.
const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  exports: Record<string, string | { default: string }>
  bin: Record<string, string>
}

// Packing and installing ~470 MB of dependencies (onnxruntime-node alone is ~290 MB) takes minutes on
// 2 cores, more than .taprc's 180 s: the file's own timer, and the runner's (told by a TAP comment).
t.setTimeout(10 * 60_000)
t.comment(`timeout=${10 * 60_000}`)

const work = mkdtempSync(join(tmpdir(), 'llmrtc-pack-'))
t.teardown(() => { rmSync(work, { recursive: true, force: true }) })
const app = join(work, 'app')

const npmEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }

interface PackedFile { path: string }
let packed: PackedFile[] = []
let tarball = ''

t.before(async () => {
  // --ignore-scripts: `prepare` would build again; the tree is built already.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, env: npmEnv, maxBuffer: 64 * 1024 * 1024 })
  const [result] = JSON.parse(stdout) as Array<{ filename: string, files: PackedFile[] }>
  if (result === undefined) throw new Error(`npm pack printed no result: ${stdout}`)
  packed = result.files
  tarball = join(work, result.filename)
  rmSync(app, { recursive: true, force: true })
  await run('mkdir', ['-p', app])
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type: 'module' }))
  // ws as the lockfile has it: with ws 8.23.1, the newest, @fastify/websocket 11.3's injectWS gets 400 for
  // every WebSocket route, the app's own and llmrtc's alike (found by this test; not llmrtc's doing).
  const ws = (JSON.parse(readFileSync(join(root, 'node_modules/ws/package.json'), 'utf8')) as { version: string }).version
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'fastify@5', '@fastify/websocket@11', `ws@${ws}`], { cwd: app, env: npmEnv, maxBuffer: 64 * 1024 * 1024 })
})

t.test('the tarball holds every export, the bin, the model, the voice page, the license and what the README links to', async t => {
  const paths = new Set(packed.map(f => f.path))
  const targets = [
    ...Object.values(pkg.exports).map(e => typeof e === 'string' ? e : e.default),
    ...Object.values(pkg.bin),
    'models/silero_vad_v5.onnx', 'public/index.html', 'public/client.js', 'deploy/llmrtc.service', 'LICENSE', 'CHANGELOG.md', 'README.md'
  ].map(p => p.replace(/^\.\//, ''))
  for (const target of targets) t.ok(paths.has(target), `${target} is packed`)
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map(m => m[1] ?? '').filter(l => !/^[a-z]+:/.test(l))
  t.ok(links.length > 10, 'the README links to files')
  for (const link of links) t.ok(paths.has(link.replace(/^\.\//, '')), `the README's link ${link} is packed`)
  t.notOk([...paths].some(p => p.startsWith('test/') || p.startsWith('node_modules/')), 'no tests or node_modules')
})

t.test('installed into an empty app, it shares the app\'s one Fastify (a peer dependency) and npm finds nothing missing', async t => {
  t.ok(existsSync(join(app, 'node_modules/@llmrtc/llmrtc-backend/dist/index.js')))
  t.notOk(existsSync(join(app, 'node_modules/@llmrtc/llmrtc-backend/node_modules/fastify')), 'no second copy of fastify')
  const { stdout } = await run('npm', ['ls', '--all', '--json'], { cwd: app, env: npmEnv, maxBuffer: 64 * 1024 * 1024 })
  t.notOk(/"(missing|invalid|extraneous)":/.test(stdout), 'npm ls reports no missing, invalid or extraneous package')
})

t.test('the installed package imports and registers into the app beside its own routes', async t => {
  writeFileSync(join(app, 'register.mjs'), `
import Fastify from 'fastify'
import llmrtc from '@llmrtc/llmrtc-backend'
const app = Fastify()
app.get('/api/hello', async () => ({ hello: 'world' }))
await app.register(llmrtc, { env: false })
await app.ready()
const hello = (await app.inject('/api/hello')).json()
const health = (await app.inject('/health')).json()
console.log(JSON.stringify({ hello, health, decorated: app.hasDecorator('llmrtc') }))
await app.close()
process.exit(0)
`)
  const { stdout } = await run(process.execPath, ['register.mjs'], { cwd: app, env: cleanEnv() })
  t.same(JSON.parse(stdout.trim().split('\n').at(-1) ?? ''), { hello: { hello: 'world' }, health: { ok: true }, decorated: true })
})

let host: Record<string, unknown> = {}

t.test('under a prefix beside the app\'s own GET / and its own @fastify/websocket, a text turn runs with the testing kit\'s fakes', async t => {
  writeFileSync(join(app, 'host.mjs'), `
import Fastify from 'fastify'
import websocket from '@fastify/websocket'
import llmrtc from '@llmrtc/llmrtc-backend'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS, connect } from '@llmrtc/llmrtc-backend/testing'
const app = Fastify()
await app.register(websocket)
app.get('/', async () => ({ home: 'the app' }))
app.get('/echo', { websocket: true }, (socket) => { socket.on('message', (data) => { socket.send('echo ' + data) }) })
const llm = new ScriptedLLM([['Check-out is at noon.']])
await app.register(llmrtc, {
  prefix: '/voice',
  systemPrompt: 'You are the front desk of a hotel.',
  webrtc: false,
  vad: false,
  demoPage: false,
  providers: { llm, stt: new ScriptedSTT([]), tts: new ScriptedTTS() }
})
await app.ready()
const home = (await app.inject('/')).json()
const health = (await app.inject('/voice/health')).json()
const session = app.llmrtcSessions.create()
const { result, messages } = await app.llmrtcPipeline.textTurn(session, 'When is check-out?')
let echo
try {
  const socket = await app.injectWS('/echo')
  const echoed = new Promise((resolve) => { socket.once('message', (data) => { resolve(String(data)) }) })
  socket.send('hi')
  echo = await echoed
  socket.terminate()
} catch (err) {
  echo = String(err.message)
}
const voice = await connect(app, '/voice')
const ready = await voice.next('ready')
voice.ws.terminate()
console.log(JSON.stringify({
  home,
  health,
  outcome: result?.outcome,
  answer: result?.assistantText,
  spoken: messages.some((m) => m.type === 'tts-chunk'),
  echo,
  voiceReady: ready.type
}))
await app.close()
process.exit(0)
`)
  const { stdout } = await run(process.execPath, ['host.mjs'], { cwd: app, env: cleanEnv() })
  host = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>
  t.same(host, {
    home: { home: 'the app' },
    health: { ok: true },
    outcome: 'completed',
    answer: 'Check-out is at noon.',
    spoken: true,
    echo: 'echo hi',
    voiceReady: 'ready'
  })
})

/** The ExecStart of the systemd unit the package ships, as run from `dir` (the unit's WorkingDirectory). */
function systemdCommand (dir: string): string[] {
  const unit = readFileSync(join(dir, 'node_modules/@llmrtc/llmrtc-backend/deploy/llmrtc.service'), 'utf8')
  const workingDirectory = unit.match(/^WorkingDirectory=(.+)$/m)?.[1]
  const execStart = unit.match(/^ExecStart=(.+)$/m)?.[1]
  if (workingDirectory === undefined || execStart === undefined) throw new Error('deploy/llmrtc.service has no WorkingDirectory or ExecStart')
  return execStart.trim().split(/\s+/).map(arg => arg.startsWith(workingDirectory + '/') ? join(dir, arg.slice(workingDirectory.length + 1)) : arg)
}

/** The Dockerfile's exec-form CMD (run from its WORKDIR, which `dir` stands for). */
function dockerCommand (): string[] {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  const cmd = [...dockerfile.matchAll(/^CMD\s+(.+)$/gm)].at(-1)?.[1]
  if (cmd === undefined) throw new Error('the Dockerfile has no CMD')
  if (/^ENTRYPOINT\b/m.test(dockerfile)) throw new Error('an ENTRYPOINT would wrap the CMD')
  return JSON.parse(cmd) as string[]
}

async function sigtermDrains (t: Test, argv: string[]): Promise<void> {
  const [command, ...args] = argv
  t.match(command, /^(\/usr\/bin\/)?node$/, `node itself is the process started (${argv.join(' ')}), no npm, npx or shell`)
  const child = spawn(process.execPath, args, { cwd: app, env: cleanEnv({ HOST: '127.0.0.1', PORT: '0', NODE_ENV: 'production' }), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let output = ''
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => { child.on('exit', (code, signal) => { resolve({ code, signal }) }) })
  const listening = new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = output.match(/"pid":(\d+)[^\n]*llmrtc is listening on (http:\/\/127\.0\.0\.1:(\d+))/)
      if (match !== null) resolve(match)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    void exited.then(() => { reject(new Error(`exited before listening:\n${output}`)) })
  })
  const [, pid, url, port] = await listening
  t.equal(Number(pid), child.pid, 'the server is the process that was started, so it is the one signalled')
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`)
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
  const closed = new Promise<number>(resolve => { socket.once('close', code => { resolve(code) }) })

  child.kill('SIGTERM')
  t.equal(await closed, 1001, 'the client is told the server is going away (1001)')
  t.same(await exited, { code: 0, signal: null }, 'the server exits 0 by itself')
  t.match(output, /draining, then shutting down/)
  t.match(output, /drained: no turn in progress/, 'it drained first')
  await t.rejects(fetch(`${url}/health`), 'nothing listens any more')
}

t.test('SIGTERM to the systemd unit\'s ExecStart drains the server and it exits', async t => {
  await sigtermDrains(t, systemdCommand(app))
})

t.test('SIGTERM to the Dockerfile\'s CMD drains the server and it exits', async t => {
  await sigtermDrains(t, dockerCommand())
})
