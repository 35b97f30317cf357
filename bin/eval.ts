import { config as loadDotenv } from 'dotenv'
import Fastify, { type FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { audioTarget } from '../lib/evals/audio-conversation.js'
import { checkFakedTools, FakeTools, toolNames } from '../lib/evals/fake-tools.js'
import { loadScenarios } from '../lib/evals/load-scenarios.js'
import { formatScenarioReport, formatSummary } from '../lib/evals/report.js'
import { runScenarios, type EvalTarget, type ScenarioReport } from '../lib/evals/run-scenarios.js'
import { textConversation } from '../lib/evals/text-conversation.js'
import { loggerOptions } from '../lib/logger.js'
import { loadPlaybookModule } from '../lib/playbooks/load-playbook-module.js'
import llmrtc, { type LLMRTCPluginOptions } from '../plugins/llmrtc/index.js'
import { evalHelpText, LOG_LEVELS } from './help.js'

export type EvalMode = 'text' | 'audio'

export interface EvalRun {
  /** Scenario files and directories. */
  paths: string[]
  mode: EvalMode
  /** Where the server's options come from, as for the server command (PLAYBOOK, providers, ...). */
  env: NodeJS.ProcessEnv
  /** Plugin options over the environment's (library users and tests: `providers`, `tools`, `playbook`). */
  options?: LLMRTCPluginOptions
  /** pino level of the server's logs, written to stderr (default warn). */
  logLevel?: string
  /** Receives the report as it goes (default: stdout). */
  write?: (text: string) => void
}

/**
 * `llmrtc-backend eval`: loads the scenarios (a bad file throws LLMRTC_ERR_EVAL_SCENARIO before anything
 * starts), builds the server from the same options as the server command, with every tool wrapped so a
 * scenario can fake its results, runs the scenarios in the mode asked, and prints a report per scenario
 * and the `N passed, N failed` line. Resolves with the reports.
 */
export async function runEval (run: EvalRun): Promise<ScenarioReport[]> {
  const write = run.write ?? ((text: string) => { process.stdout.write(text) })
  const scenarios = await loadScenarios(run.paths)
  const fakes = new FakeTools()
  const options = run.options ?? {}
  const playbook = options.playbook ?? (run.env.PLAYBOOK !== undefined && run.env.PLAYBOOK !== '' ? await loadPlaybookModule(run.env.PLAYBOOK) : undefined)
  const tools = options.tools ?? []
  checkFakedTools(scenarios, toolNames(tools, playbook))

  const level = run.logLevel ?? 'warn'
  const app = Fastify({ logger: level === 'silent' ? false : { level, ...loggerOptions, stream: process.stderr } })
  try {
    await app.register(llmrtc, {
      env: run.env,
      ...options,
      tools: tools.map(tool => fakes.wrap(tool)),
      ...(playbook !== undefined ? { playbook: fakes.wrapPlaybook(playbook) } : {}),
      demoPage: false,
      // Text mode needs neither the WebRTC transport nor the VAD model: it starts in milliseconds.
      ...(run.mode === 'text' ? { webrtc: false, vad: false } : {})
    })
    await app.ready()
    const target = run.mode === 'text' ? textTarget(app, playbook?.initialStage) : await audioServer(app, playbook?.initialStage)
    const reports = await runScenarios(scenarios, target, {
      fakeTools: fakes,
      judge: app.llmrtcProviders.llm,
      onReport: (report) => { write(formatScenarioReport(report)) }
    })
    write(formatSummary(reports))
    return reports
  } finally {
    await app.close()
  }
}

function textTarget (app: FastifyInstance, initialStage: string | undefined): EvalTarget {
  return {
    open: async () => {
      const session = app.llmrtcSessions.create()
      return textConversation(
        async (text) => await app.llmrtcPipeline.textTurn(session, text),
        async () => { app.llmrtcSessions.end(session, 'closed') },
        initialStage
      )
    }
  }
}

/** Audio mode: the server listens on a loopback port, and each scenario calls it over WebRTC. */
async function audioServer (app: FastifyInstance, initialStage: string | undefined): Promise<EvalTarget> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return audioTarget({ url: `ws://127.0.0.1:${port}${app.llmrtcConfig.path}`, stt: app.llmrtcProviders.stt, initialStage })
}

/**
 * The `eval` command's arguments to a run: prints the report and resolves with the exit code (0: every
 * scenario passed, 1: one failed or the server could not start, 2: bad arguments or scenario files).
 */
export async function evalCommand (argv: string[], help: string): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        mode: { type: 'string', short: 'm' },
        'log-level': { type: 'string', short: 'l' },
        help: { type: 'boolean', short: 'h' }
      },
      allowPositionals: true,
      strict: true
    })
  } catch (err) {
    const reason = (err as Error).message.split(/\.\s/)[0] ?? ''
    process.stderr.write(`llmrtc-backend eval: ${reason}\nRun '${help} eval --help' for the options.\n`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    process.stdout.write(evalHelpText)
    return 0
  }
  const mode = values.mode ?? 'text'
  if (mode !== 'text' && mode !== 'audio') {
    process.stderr.write(`llmrtc-backend eval: invalid --mode: expected text or audio, instead got "${mode}"\n`)
    return 2
  }
  const level = values['log-level']
  if (level !== undefined && !LOG_LEVELS.includes(level)) {
    process.stderr.write(`llmrtc-backend eval: invalid --log-level: expected one of ${LOG_LEVELS.join(', ')}, instead got "${level}"\n`)
    return 2
  }
  if (positionals.length === 0) {
    process.stderr.write(`llmrtc-backend eval: no scenarios: give scenario files or directories\nRun '${help} eval --help' for the options.\n`)
    return 2
  }
  loadDotenv({ path: '.env', quiet: true })
  try {
    const reports = await runEval({ paths: positionals, mode, env: process.env, ...(level !== undefined ? { logLevel: level } : {}) })
    return reports.every(report => report.pass) ? 0 : 1
  } catch (err) {
    if ((err as { code?: string }).code === 'LLMRTC_ERR_EVAL_SCENARIO') {
      process.stderr.write(`llmrtc-backend eval: ${(err as Error).message}\n`)
      return 2
    }
    process.stderr.write(`llmrtc-backend eval: cannot run: ${(err as Error).message}\n`)
    return 1
  }
}
