import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cleanEnv, startChild } from '../helpers/child-server.js'
import { WebRTCTestClient, isolateNetwork } from '../helpers/webrtc-client.js'

isolateNetwork()

// With workers, a session's WebSocket and its WebRTC peer live in one process: the worker that accepted the
// WebSocket creates the peer, and the media goes straight to it.

const script = fileURLToPath(new URL('./workers-server.ts', import.meta.url))
t.setTimeout(5 * 60_000)

t.test('each worker creates the peer of the WebSockets it accepted, and its media connects', async t => {
  const run = startChild(t, process.execPath, ['--import', 'tsx', script], cleanEnv({ WORKERS_FIXTURE: '1', TEST_OPTIONS: JSON.stringify({ webrtc: {} }) }))
  const [, port] = await run.waitFor(/primary listening (\d+)/)
  const workers: string[] = []
  for (let i = 0; i < 2; i++) {
    const client = await WebRTCTestClient.connect(`ws://127.0.0.1:${String(port)}/`, { timeoutMs: 20_000 })
    t.teardown(async () => { await client.close() })
    const [, worker = ''] = await run.waitFor(new RegExp(`connection ${client.sessionId} on worker (\\d+)`))
    workers.push(worker)
    t.equal(client.peer?.connectionState, 'connected', `the peer of worker ${worker}'s session is connected`)
    t.equal(client.channel?.readyState, 'open', 'and its data channel is open')
  }
  t.same([...workers].sort(), ['1', '2'], 'one session on each worker')
  run.child.kill('SIGTERM')
  t.same(await run.exited, { code: 0, signal: null })
})
