#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { config as loadDotenv } from 'dotenv'
import { LLMRTCServer } from '../server/llmrtc-server.js'
import { formatBanner } from './banner.js'
import { helpText } from './help.js'

/**
 * `npx llmrtc-backend`: runs the server from the environment (and a `.env` in the working directory).
 * Every exit is explicit: @roamhq/wrtc can crash the process at a natural exit.
 */
async function main (): Promise<void> {
  let args
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string', short: 'h' },
        help: { type: 'boolean' }
      },
      strict: true
    }).values
  } catch (err) {
    process.stderr.write(`llmrtc-backend: ${(err as Error).message}\n\n${helpText}`)
    process.exit(2)
  }
  if (args.help === true) {
    process.stdout.write(helpText)
    process.exit(0)
  }
  loadDotenv({ path: '.env', quiet: true })

  let port: number | undefined
  if (args.port !== undefined) {
    port = Number(args.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`llmrtc-backend: invalid --port: expected an integer from 0 to 65535, instead got "${args.port}"\n`)
      process.exit(2)
    }
  }

  let server: LLMRTCServer
  try {
    server = new LLMRTCServer({ port, host: args.host })
  } catch (err) {
    process.stderr.write(`llmrtc-backend: ${(err as Error).message}\n`)
    process.exit(1)
  }
  const app = server.getApp()
  let stopping = false
  // SIGTERM (an orchestrator, a rolling deploy) drains: turns in progress finish first. SIGINT (Ctrl-C),
  // or a second signal during a drain, stops at once.
  const stop = (signal: string): void => {
    if (stopping) {
      app.log.warn({ signal }, 'stopping now')
      process.exit(0)
    }
    stopping = true
    app.log.info({ signal }, signal === 'SIGTERM' ? 'draining, then shutting down' : 'shutting down')
    server.stop(signal === 'SIGTERM' ? {} : { drainTimeoutMs: 0 }).then(() => process.exit(0), (err: unknown) => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGINT', () => { stop('SIGINT') })
  process.on('SIGTERM', () => { stop('SIGTERM') })

  try {
    const { host, port: bound } = await server.start()
    app.log.info(`llmrtc is listening on http://${host}:${bound} (WebSocket ws://${host}:${bound}${app.llmrtcConfig.path})`)
    const providers = app.llmrtcProviders
    const role = (name: 'stt' | 'llm' | 'tts'): { provider: string, reason: string } => ({ provider: providers[name].name, reason: providers.reasons[name] })
    process.stdout.write(formatBanner({ host, port: bound, path: app.llmrtcConfig.path, stt: role('stt'), llm: role('llm'), tts: role('tts') }))
  } catch (err) {
    process.stderr.write(`llmrtc-backend: cannot start: ${(err as Error).message}\n`)
    await server.stop().catch(() => {})
    process.exit(1)
  }
}

void main()
