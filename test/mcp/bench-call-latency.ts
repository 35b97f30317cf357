// Round trip of one MCP tool call through McpConnection, over stdio (a child process) and streamable HTTP
// (loopback), against the fixture server: `node --import tsx test/mcp/bench-call-latency.ts`. Not a test:
// prints connect time and call p50/p95 in ms.
import { systemClock } from '../../lib/clock.js'
import { silentLogger } from '../../lib/logger.js'
import { McpConnection } from '../../lib/tools/mcp/mcp-connection.js'
import { resolveMcpServers, type McpServerOptions } from '../../lib/tools/mcp/mcp-options.js'
import { startHttpFixture } from './fixtures/test-mcp-server.js'
import { stdioFixture } from './helpers.js'

const CALLS = 300
const http = await startHttpFixture()
const servers: Array<[string, McpServerOptions]> = [['stdio', stdioFixture()], ['http', { url: http.url, headers: { 'x-fixture-token': 'secret' } }]]
for (const [name, options] of servers) {
  const [server] = resolveMcpServers({ [name]: options })
  if (server === undefined) continue
  const connection = new McpConnection({ server, clock: systemClock, log: silentLogger, onError: () => {}, onTools: () => {} })
  const started = performance.now()
  await connection.start()
  const connectMs = performance.now() - started
  const times: number[] = []
  for (let i = 0; i < CALLS; i++) {
    const at = performance.now()
    await connection.call('echo', { text: 'x' }, new AbortController().signal)
    times.push(performance.now() - at)
  }
  times.sort((a, b) => a - b)
  const at = (q: number): string => (times[Math.floor(q * (CALLS - 1))] ?? 0).toFixed(2)
  console.log(JSON.stringify({ transport: name, connectMs: Math.round(connectMs), callP50Ms: at(0.5), callP95Ms: at(0.95) }))
  await connection.close()
}
await http.close()
