import { Redis } from 'ioredis'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import { RuleBasedLLM } from '../../lib/providers/builtin/index.js'
import type { SessionRecord } from '../../lib/sessions/session-store.js'
import { startCliServer, type LLMRTCProcess } from '../helpers/cli-server.js'
import { say } from '../helpers/e2e.js'
import { docsBlockWithCertificate, docsNginxBlock, loopbackNginxBlock, nginxTest, startNginx } from '../helpers/nginx.js'
import { startRedis } from '../helpers/redis-server.js'
import { scratchDir } from '../helpers/scratch-dir.js'
import { isolateNetwork, WebRTCTestClient } from '../helpers/webrtc-client.js'
import { opensslAvailable } from '../mocks/tls.js'

// Many machines, on one: two llmrtc server processes (the CLI, as deployed) behind Debian's nginx with
// docs/deployment.md's own configuration, sharing one redis-server. A real WebRTC client talks through
// nginx (its media goes straight to the server's loopback candidates); the server it is on drains
// (SIGTERM); it reconnects through nginx, lands on the other server and carries on. The providers are the
// no-key local stack (pocketsphinx with the built-in assistant's grammar, the built-in assistant,
// espeak-ng): deterministic, no mock. Assertions are on order and content, not durations.
isolateNetwork()

const WAIT_MS = 30_000
const LONG_ANSWER = new RuleBasedLLM().reply('what can you do')

// Two stages moved on by what the assistant says: the first answer ("the cat sat on the mat.") moves
// greet -> listen, the second ("testing one two three.") listen -> done. From any other stage the second
// answer moves nothing, so a stage-change listen -> done on the second server proves it kept the stage.
const PLAYBOOK = `export const playbook = {
  id: 'echo',
  name: 'Echo desk',
  initialStage: 'greet',
  stages: [
    { id: 'greet', name: 'Greet', systemPrompt: 'Greet the caller.' },
    { id: 'listen', name: 'Listen', systemPrompt: 'Listen to the caller.' },
    { id: 'done', name: 'Done', systemPrompt: 'Say goodbye.' }
  ],
  transitions: [
    { id: 'heard-cat', from: 'greet', condition: { type: 'keyword', keywords: ['cat'] }, action: { targetStage: 'listen' } },
    { id: 'heard-test', from: 'listen', condition: { type: 'keyword', keywords: ['testing'] }, action: { targetStage: 'done' } }
  ]
}
`

/** The CLI's JSON log lines of a server. */
function logLines (server: LLMRTCProcess): Array<Record<string, unknown>> {
  return server.output().split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as Record<string, unknown>)
}

/** Polls until `read` gives a value that `holds`; resolves with it. */
async function eventually<T> (read: () => T | Promise<T>, holds: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < WAIT_MS / 50; i++) {
    const value = await read()
    if (holds(value)) return value
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const TURN = ['speech-start', 'transcript', 'llm', 'tts-complete'] as const

/** Waits for a whole voice turn from `from` on (and its stage change, if `stageChange`); returns its messages. */
async function voiceTurn (client: WebRTCTestClient, from: number, { stageChange }: { stageChange: boolean }): Promise<ServerMessage[]> {
  for (const type of stageChange ? [...TURN, 'stage-change' as const] : TURN) await client.waitFor(type, { from, timeoutMs: WAIT_MS })
  return client.wsMessages.slice(from).filter(m => m.type !== 'metrics' && m.type !== 'llm-chunk')
}

t.test('the docs\' nginx block as written, TLS included, passes nginx -t', { skip: opensslAvailable() ? false : 'openssl is not available to make a certificate' }, async t => {
  const dir = scratchDir()
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=voice.example.com', '-keyout', key, '-out', cert], { encoding: 'utf8' })
  t.equal(made.status, 0, 'openssl made a self-signed certificate')
  const result = nginxTest(docsBlockWithCertificate(docsNginxBlock(), { cert, key }))
  t.equal(result.status, 0, `nginx -t: ${result.output}`)
  t.match(result.output, /syntax is ok[\s\S]*test is successful/)
})

t.test('behind nginx (docs/deployment.md), a drained server\'s client resumes on the other server: history, playbook stage, a new turn', async t => {
  const docs = docsNginxBlock()
  for (const line of ['hash $remote_addr consistent;', 'proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection $connection_upgrade;', 'proxy_next_upstream error timeout http_503;']) {
    t.ok(docs.includes(line), `the docs' block has ${line}`)
  }
  const redis = await startRedis(t)
  const raw = new Redis(redis.url)
  t.teardown(() => raw.disconnect())
  const playbook = join(scratchDir(), 'playbook.mjs')
  writeFileSync(playbook, PLAYBOOK)
  const env = { REDIS_URL: redis.url, PLAYBOOK: playbook }
  const servers = await Promise.all([startCliServer(t, env), startCliServer(t, env)])
  const nginx = await startNginx(t, listen => loopbackNginxBlock(docs, { upstreams: servers.map(s => `127.0.0.1:${s.port}`), listen }))
  const url = `ws://127.0.0.1:${nginx.port}/`
  const record = async (id: string): Promise<SessionRecord | undefined> => {
    const text = await raw.get(`llmrtc:session:${id}`)
    return text === null ? undefined : JSON.parse(text) as SessionRecord
  }
  const conversation = (r: SessionRecord | undefined): string[] => (r?.history ?? []).map(m => `${m.role}: ${m.content}`)
  const stageOf = (r: SessionRecord | undefined): unknown => (r?.data.playbook as { stageId?: string } | undefined)?.stageId

  // Through nginx: the WebSocket, then the peer, whose media goes to the server's own candidates.
  const first = await WebRTCTestClient.connect(url, { timeoutMs: WAIT_MS })
  t.teardown(() => first.close())
  await first.addMicrophone()
  const id = first.sessionId
  const connected = await eventually(() => servers.filter(s => logLines(s).some(l => l.msg === 'client connected' && l.sessionId === id)), list => list.length > 0, 'the server that took the client')
  t.equal(connected.length, 1, 'one server holds the session')
  const a = connected[0] as LLMRTCProcess
  const b = servers.find(s => s !== a) as LLMRTCProcess

  await say(first, 'Repeat after me, the cat sat on the mat.')
  const turn1 = await voiceTurn(first, 0, { stageChange: true })
  t.match(turn1.find(m => m.type === 'transcript'), { isFinal: true, text: 'repeat after me the cat sat on the mat' }, 'pocketsphinx heard the phrase')
  t.same(turn1.find(m => m.type === 'llm'), { type: 'llm', text: 'the cat sat on the mat.' }, 'the built-in assistant repeated it')
  t.same(turn1.find(m => m.type === 'stage-change'), { type: 'stage-change', from: 'greet', to: 'listen', reason: 'keyword: "cat"' }, 'the answer moved the playbook on')
  await first.audio.waitForSound(1000, WAIT_MS, 0)
  t.pass('the answer was heard on the client\'s track')
  const saved = await eventually(async () => await record(id), r => conversation(r).length === 2 && stageOf(r) === 'listen', 'the turn and the stage in Redis')
  t.same(conversation(saved), ['user: repeat after me the cat sat on the mat', 'assistant: the cat sat on the mat.'], 'written to Redis after the turn')

  // A second turn with a long answer; the server drains while it speaks, as a deploy stops it.
  const mark2 = first.wsMessages.length
  await say(first, 'What can you do?')
  await first.waitFor('tts-start', { from: mark2, timeoutMs: WAIT_MS })
  a.child.kill('SIGTERM')
  await eventually(() => logLines(a), l => l.some(line => line.msg === 'draining: no new connections, waiting for turns in progress'), 'the drain to start')
  // Meanwhile a new client comes (hashed to the draining server, as the same address): it is refused with
  // 503, and nginx passes it on to the other server (proxy_next_upstream ... http_503).
  const newcomer = await WebRTCTestClient.open(url, { timeoutMs: WAIT_MS })
  await eventually(() => logLines(b), l => l.some(line => line.msg === 'client connected' && line.sessionId === newcomer.sessionId), 'the other server\'s log of the newcomer')
  t.pass('a new client during the drain is served by the other server')
  await newcomer.close()
  // The answer in progress finishes before the socket closes.
  const turn2 = await voiceTurn(first, mark2, { stageChange: false })
  t.match(turn2.find(m => m.type === 'transcript'), { isFinal: true, text: 'what can you do' }, 'pocketsphinx heard the question')
  t.same(turn2.find(m => m.type === 'llm'), { type: 'llm', text: LONG_ANSWER }, 'the whole answer')
  t.notOk(turn2.some(m => m.type === 'tts-cancelled'), 'spoken to its end (tts-complete), not cut by the drain')
  t.equal((await first.closed).code, 1001, 'then the draining server closes the WebSocket with 1001 (going away)')

  // The client reconnects through nginx at once, as the voice page does, and lands on the other server.
  const second = await WebRTCTestClient.open(url, { timeoutMs: WAIT_MS })
  t.teardown(() => second.close())
  second.send({ type: 'reconnect', sessionId: id })
  t.same(await second.waitFor('reconnect-ack', { timeoutMs: WAIT_MS }), { type: 'reconnect-ack', success: true, sessionId: id, historyRecovered: true }, 'the other server recovered the session from Redis')
  await eventually(() => logLines(b), l => l.some(line => line.msg === 'session resumed' && line.sessionId === id && line.previousSessionId === second.sessionId), 'the other server\'s log of the resume')
  t.pass('the other server resumed the session')
  t.same(await a.exited, { code: 0, signal: null }, 'the drained server exited 0')
  await eventually(() => logLines(a), l => l.some(line => line.msg === 'drained: no turn in progress'), 'the drained server\'s log of the drain')
  t.pass('after its turn in progress finished')

  await second.startWebRTC()
  await second.addMicrophone()
  const mark3 = second.wsMessages.length
  await say(second, 'Repeat after me, testing one two three.')
  const turn3 = await voiceTurn(second, mark3, { stageChange: true })
  t.match(turn3.find(m => m.type === 'transcript'), { isFinal: true, text: 'repeat after me testing one two three' }, 'a new turn on the other server')
  t.same(turn3.find(m => m.type === 'llm'), { type: 'llm', text: 'testing one two three.' }, 'answered')
  t.same(turn3.find(m => m.type === 'stage-change'), { type: 'stage-change', from: 'listen', to: 'done', reason: 'keyword: "testing"' }, 'the playbook went on from the stage reached on the drained server')
  await second.audio.waitForSound(1000, WAIT_MS, 0)
  t.pass('the new answer was heard on the new peer\'s track')
  const final = await eventually(async () => await record(id), r => conversation(r).length === 6 && stageOf(r) === 'done', 'the new turn in Redis')
  t.same(conversation(final), [
    'user: repeat after me the cat sat on the mat',
    'assistant: the cat sat on the mat.',
    'user: what can you do',
    `assistant: ${LONG_ANSWER}`,
    'user: repeat after me testing one two three',
    'assistant: testing one two three.'
  ], 'nothing lost: the whole conversation, in order, under the first session id')

  // nginx logs a WebSocket when it closes. Every connection comes from 127.0.0.1, so the hash sends it to
  // the same server first. The newcomer's: the draining server refused it with 503, and nginx passed it on.
  // The first WebSocket's: the server that drained. The reconnect's: the other server, after the drained
  // one refused it (gone: 502), unless nginx still counted it as failed from the 503 (fail_timeout, 10 s).
  await second.close()
  const lines = await eventually(() => nginx.accessLog(), l => l.length >= 3, 'the three WebSockets in nginx\'s access log')
  const [A, B] = [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]
  t.equal(lines[0], `GET / 101 upstream=${A}, ${B} upstream_status=503, 101`, 'the newcomer: 503 from the draining server, then the other one')
  t.equal(lines[1], `GET / 101 upstream=${A} upstream_status=101`, 'the first WebSocket: the server that drained')
  t.ok([`GET / 101 upstream=${A}, ${B} upstream_status=502, 101`, `GET / 101 upstream=${B} upstream_status=101`].includes(lines[2] ?? ''), `the reconnect: the other server (${lines[2] ?? ''})`)
})
