import { readFileSync } from 'node:fs'
import { envSchema } from '../lib/config/env-schema.js'

export const LOG_LEVELS: readonly string[] = envSchema.properties.LOG_LEVEL.enum

/**
 * The help command that works where this file runs: `npx llmrtc-backend --help` where the package is
 * installed (its bin is on npx's path), `npm start -- --help` in a clone (where npx would look for the
 * package on the registry instead).
 */
export function helpCommand (fileUrl: string): string {
  return fileUrl.includes('/node_modules/') ? 'npx llmrtc-backend --help' : 'npm start -- --help'
}

/** This package's version, from its package.json (dist/bin/ or bin/ under the package root). */
export function packageVersion (): string {
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const json = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (json.name === '@llmrtc/llmrtc-backend' && typeof json.version === 'string') return json.version
    } catch {
      // Not this one: the next candidate.
    }
  }
  return 'unknown'
}

// Provider variables are listed apart: they are what a first-time user has to look for.
const isProviderVariable = (name: string): boolean => /PROVIDER$|API_KEY$|^LOCAL_ONLY$|^(OPENAI|DEEPGRAM|CARTESIA|GEMINI|ANTHROPIC|BEDROCK|AWS|ELEVENLABS|PIPER|ESPEAK|POCKETSPHINX)_/.test(name)
const list = (provider: boolean): string => Object.entries(envSchema.properties)
  .filter(([name]) => isProviderVariable(name) === provider)
  .map(([name, schema]) => `  ${name.padEnd(22)} ${schema.description}`)
  .join('\n')

export const helpText = `Usage: llmrtc-backend [options]
       llmrtc-backend eval [options] <scenario files or directories>

Runs the llmrtc voice server. A .env file in the working directory is read first.
With no API key it needs no network: the built-in assistant answers, espeak-ng speaks
and pocketsphinx listens when they are installed (else a tone and a placeholder).

Options:
  -p, --port <port>         port to listen on (env PORT, default 8787)
  -a, --address <address>   address to bind (env HOST, default 127.0.0.1; --host is the same)
  -l, --log-level <level>   ${LOG_LEVELS.join(', ')} (env LOG_LEVEL, default info)
      --workers <n|auto>  processes sharing the port, auto: one per core (env WORKERS, default 1)
  -h, --help                show this help
      --version             show the version

Commands:
  eval <dir|files>          run scripted conversations against these options and report
                            (llmrtc-backend eval --help, docs/evals.md)

Providers (per role: *_PROVIDER if set, else the first key set, else local, else built-in):
${list(true)}

Examples:
  OPENAI_API_KEY=sk-... llmrtc-backend
  LLM_PROVIDER=openai OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_MODEL=llama3.2 llmrtc-backend
  LOCAL_ONLY=true llmrtc-backend

Server:
${list(false)}
`

export const evalHelpText = `Usage: llmrtc-backend eval [options] <scenario files or directories>

Runs scripted conversations (YAML or JSON scenario files; a directory: every .yaml, .yml
and .json file in it) against the server built from the same environment as the server
command (providers, PLAYBOOK, ...), checks each step's expectations and prints a report,
then "N passed, N failed". Exit code 0 when every scenario passed, 1 when one failed,
2 for bad arguments or scenario files. The format is in docs/evals.md.

Options:
  -m, --mode <text|audio>   text: each line is a text turn through the pipeline (fast, for CI;
                            default); audio: each line is spoken by espeak-ng over WebRTC,
                            heard by the VAD and STT, and the answer is transcribed with the STT
  -l, --log-level <level>   ${LOG_LEVELS.join(', ')} of the server's logs, on stderr (default warn)
  -h, --help                show this help

Examples:
  llmrtc-backend eval scenarios/
  PLAYBOOK=examples/support-playbook.mjs OPENAI_API_KEY=sk-... llmrtc-backend eval examples/scenarios
  llmrtc-backend eval --mode audio scenarios/greeting.yaml
`
