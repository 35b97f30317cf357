import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { silentLogger } from '../../lib/logger.js'
import { McpConnection } from '../../lib/tools/mcp/mcp-connection.js'
import { resolveMcpServers, type McpServerOptions } from '../../lib/tools/mcp/mcp-options.js'
import { FakeClock } from '../helpers/fake-clock.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/stdio-server.ts', import.meta.url))

/** The stdio fixture server's options: this Node, with tsx, running test/mcp/fixtures/stdio-server.ts. */
export function stdioFixture (extra: Partial<McpServerOptions> = {}): McpServerOptions {
  return { command: process.execPath, args: ['--import', 'tsx', FIXTURE], env: { PATH: process.env.PATH ?? '' }, connectTimeoutMs: 60_000, ...extra } as McpServerOptions
}

/** Whether a process with this id is running. */
export function running (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A connection to one server on a fake clock (reconnections happen when the test advances it), closed at teardown. */
export function connection (t: Test, name: string, options: McpServerOptions): { connection: McpConnection, clock: FakeClock, errors: Error[], toolChanges: () => number } {
  const [server] = resolveMcpServers({ [name]: options })
  const clock = new FakeClock()
  const errors: Error[] = []
  let changes = 0
  const made = new McpConnection({ server: server!, clock, log: silentLogger, onError: (err) => { errors.push(err) }, onTools: () => { changes++ } })
  t.teardown(async () => { await made.close() })
  return { connection: made, clock, errors, toolChanges: () => changes }
}
