#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { config as loadDotenv } from 'dotenv'
import { parseWorkerCountText, type WorkerCount } from '../lib/cluster/worker-count.js'
import { readEnvValue } from '../lib/config/env-errors.js'
import type { LLMRTCServer } from '../server/llmrtc-server.js'
import { formatBanner } from './banner.js'
import { helpCommand, helpText, LOG_LEVELS, packageVersion } from './help.js'

/**
 * `npx llmrtc-backend`: runs the server from the environment (and a `.env` in the working directory).
 * Every exit is explicit: @roamhq/wrtc can crash the process at a natural exit.
 */
async function main (): Promise<void> {
  const help = helpCommand(import.meta.url)
  if (process.argv[2] === 'eval') {
    // Loaded only for this command: the server's flags and start-up stay as they are.
    const { evalCommand } = await import('./eval.js')
    process.exit(await evalCommand(process.argv.slice(3), help.replace(/ --help$/, '')))
  }
  let args
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', short: 'p' },
        address: { type: 'string', short: 'a' },
        // The flag before fastify-cli's habits; -h is now help.
        host: { type: 'string' },
        'log-level': { type: 'string', short: 'l' },
        // No short flag: fastify-cli's -w is --watch.
        workers: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' }
      },
      strict: true
    }).values
  } catch (err) {
    // Node's message goes on to explain `--`; its first sentence says what was wrong. The help stays one command away.
    const reason = (err as Error).message.split(/\.\s/)[0] ?? ''
    process.stderr.write(`llmrtc-backend: ${reason}\nRun '${help}' for the options.\n`)
    process.exit(2)
  }
  if (args.help === true) {
    process.stdout.write(helpText)
    process.exit(0)
  }
  if (args.version === true) {
    process.stdout.write(`${packageVersion()}\n`)
    process.exit(0)
  }
  loadDotenv({ path: '.env', quiet: true })

  let port: number | undefined
  if (args.port !== undefined) {
    port = Number(args.port)
    if (!/^\d+$/.test(args.port) || port > 65535) {
      process.stderr.write(`llmrtc-backend: invalid --port: expected an integer from 0 to 65535, instead got "${args.port}"\n`)
      process.exit(2)
    }
  }
  const level = args['log-level']
  if (level !== undefined && !LOG_LEVELS.includes(level)) {
    process.stderr.write(`llmrtc-backend: invalid --log-level: expected one of ${LOG_LEVELS.join(', ')}, instead got "${level}"\n`)
    process.exit(2)
  }

  let workers: WorkerCount | undefined
  if (args.workers !== undefined) {
    workers = parseWorkerCountText(args.workers)
    if (workers === undefined) {
      process.stderr.write(`llmrtc-backend: invalid --workers: expected a positive integer or "auto", instead got "${args.workers}"\n`)
      process.exit(2)
    }
  }

  // Loaded once the flags are checked: --help, --version and a bad flag answer at once.
  const { LLMRTCServer } = await import('../server/llmrtc-server.js')
  let server: LLMRTCServer
  try {
    // Logs go through process.stdout, as the banner does, so the banner lands after the log lines written
    // before it and never between two (pino's own destination writes asynchronously, on another path).
    const logger = { level: level ?? (readEnvValue('LOG_LEVEL', process.env.LOG_LEVEL) as string | undefined) ?? 'info', stream: process.stdout }
    server = new LLMRTCServer({ port, host: args.address ?? args.host, logger, workers })
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
    // With workers, the primary says where the cluster listens, and the first worker prints the banner
    // (the providers are loaded in the workers only).
    if (server.role === 'primary') {
      app.log.info(`llmrtc is listening on http://${host}:${bound} with ${server.workerPids.length} workers`)
      return
    }
    if (server.role === 'worker' && server.workerId !== 1) return
    if (server.role === 'single') app.log.info(`llmrtc is listening on http://${host}:${bound} (WebSocket ws://${host}:${bound}${app.llmrtcConfig.path})`)
    const providers = app.llmrtcProviders
    const role = (name: 'stt' | 'llm' | 'tts'): { provider: string, reason: string } => ({ provider: providers[name].name, reason: providers.reasons[name] })
    process.stdout.write(formatBanner({ host, port: bound, path: app.llmrtcConfig.path, stt: role('stt'), llm: role('llm'), tts: role('tts'), helpCommand: help }))
  } catch (err) {
    process.stderr.write(`llmrtc-backend: cannot start: ${(err as Error).message}\n`)
    await server.stop().catch(() => {})
    process.exit(1)
  }
}

void main()
