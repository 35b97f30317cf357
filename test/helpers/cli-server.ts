import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { cleanEnv, startChild, type RunningChild } from './child-server.js'
import { scratchDir } from './scratch-dir.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface LLMRTCProcess extends RunningChild { port: number }

/**
 * `node bin/llmrtc-backend.ts` (the CLI, run from source) in an empty folder, on a loopback port, with a
 * minimal environment plus `env`; killed at teardown. In a scratch folder: the CLI reads a .env from its
 * working directory, and a developer's own must not count.
 */
export async function startCliServer (t: Test, env: Record<string, string>): Promise<LLMRTCProcess> {
  const tsx = import.meta.resolve('tsx')
  const cli = join(root, 'bin/llmrtc-backend.ts')
  const child = startChild(t, 'sh', ['-c', `cd "${scratchDir()}" && exec "$0" --import "${tsx}" "${cli}" --host 127.0.0.1 --port 0`, process.execPath],
    cleanEnv({ LOG_LEVEL: 'info', TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'), ...env }))
  const [, port] = await child.waitFor(/llmrtc is listening on http:\/\/127\.0\.0\.1:(\d+)/)
  return { ...child, port: Number(port) }
}
