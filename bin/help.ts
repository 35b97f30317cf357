import { envSchema } from '../lib/config/env-schema.js'

// Provider variables are listed apart: they are what a first-time user has to look for.
const isProviderVariable = (name: string): boolean => /PROVIDER$|API_KEY$|^LOCAL_ONLY$|^(OPENAI|DEEPGRAM|CARTESIA|ESPEAK|POCKETSPHINX)_/.test(name)
const list = (provider: boolean): string => Object.entries(envSchema.properties)
  .filter(([name]) => isProviderVariable(name) === provider)
  .map(([name, schema]) => `  ${name.padEnd(22)} ${schema.description}`)
  .join('\n')

export const helpText = `Usage: llmrtc-backend [options]

Runs the llmrtc voice server. A .env file in the working directory is read first.
With no API key it needs no network: the built-in assistant answers, espeak-ng speaks
and pocketsphinx listens when they are installed (else a tone and a placeholder).

Options:
  -p, --port <port>      port to listen on (env PORT, default 8787)
  -h, --host <address>   address to bind (env HOST, default 127.0.0.1)
      --help             show this help

Providers (per role: *_PROVIDER if set, else the first key set, else local, else built-in):
${list(true)}

Examples:
  OPENAI_API_KEY=sk-... llmrtc-backend
  LLM_PROVIDER=openai OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_MODEL=llama3.2 llmrtc-backend
  LOCAL_ONLY=true llmrtc-backend

Server:
${list(false)}
`
