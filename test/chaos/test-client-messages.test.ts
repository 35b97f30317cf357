import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { WebRTCTestClient } from '../helpers/webrtc-client.js'

/** A bare WebSocket server on 127.0.0.1 (closed at the test's end) with `onConnection` for each socket; its URL. */
async function wsServer (t: Test, onConnection: (ws: WebSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(wss, 'listening')
  t.teardown(async () => { await new Promise(resolve => { wss.close(resolve) }) })
  wss.on('connection', onConnection)
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
}

/** A test client connected to a server that only says `ready`, and the server's end of its socket. */
async function connectedClient (t: Test): Promise<{ client: WebRTCTestClient, server: WebSocket }> {
  let server: WebSocket | undefined
  const url = await wsServer(t, (ws) => { server = ws; ws.send(JSON.stringify({ type: 'ready', id: 'session-1', protocolVersion: 1 })) })
  const client = await WebRTCTestClient.open(url, { timeoutMs: 60_000 })
  t.teardown(async () => { await client.close() })
  if (server === undefined) throw new Error('ready came before the connection')
  return { client, server }
}

// The chaos bench's clients forget their received messages every few seconds to keep memory flat. A
// `waitFor` counts from an index into those lists: forgetting them under it hid the answer to an ICE
// restart (the bench reported an offer unanswered for 20 s by a server that had answered it at once).
t.test('forgetting messages never hides the one a waitFor is waiting for', async t => {
  const { client, server } = await connectedClient(t)
  server.send(JSON.stringify({ type: 'pong', timestamp: 1 }))
  await client.waitFor('pong')

  const from = client.wsMessages.length
  const answer = client.waitFor(m => m.type === 'signal', { from, timeoutMs: 3000 })
  client.forgetMessages()
  server.send(JSON.stringify({ type: 'signal', signal: { type: 'answer', sdp: 'v=0' } }))
  t.match(await answer, { type: 'signal', signal: { type: 'answer' } }, 'the answer is found')
  t.equal(client.wsMessages.length, from + 1, 'nothing was forgotten while a waitFor was pending')
  client.forgetMessages()
  t.equal(client.wsMessages.length, 0, 'forgotten once nothing waits')
})

// The chaos bench's reconnects open a socket to a server that may be killed at that moment: a socket
// closed before `ready` fails the attempt at once, so the next server is tried within the reconnect grace.
t.test('a socket the server closes before ready fails the open at once, not at the timeout', async t => {
  const url = await wsServer(t, (ws) => { ws.close(1011) })
  await t.rejects(WebRTCTestClient.open(url, { timeoutMs: 60_000 }), /the socket closed \(1011\) before ready/)
})

// An ICE restart's offer sent to a server killed at that moment: its answer cannot come, and the wait
// fails when the socket closes, not 20 s later while the client has already resumed on another server.
t.test('a waitFor on the socket fails as soon as the socket closes, after any message it delivered first', async t => {
  const { client, server } = await connectedClient(t)

  const answer = client.waitFor(m => m.type === 'signal', { from: client.wsMessages.length })
  const pong = client.waitFor('pong', { from: client.wsMessages.length })
  server.send(JSON.stringify({ type: 'pong', timestamp: 1 }))
  server.terminate()
  t.match(await pong, { type: 'pong', timestamp: 1 }, 'a message sent before the close is still found')
  await t.rejects(answer, /the socket closed \(1006\) before a matching message on ws/)
  await t.rejects(client.waitFor('signal'), /the socket closed \(1006\) before signal on ws/, 'and a wait that starts after the close fails at once')
})
