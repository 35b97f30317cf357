import { envSchema } from '../lib/config/env-schema.js'

const variables = Object.entries(envSchema.properties)
  .map(([name, schema]) => `  ${name.padEnd(22)} ${schema.description}`)
  .join('\n')

export const helpText = `Usage: llmrtc-backend [options]

Runs the llmrtc voice server. With no API key it uses the built-in providers.
A .env file in the working directory is read first.

Options:
  -p, --port <port>      port to listen on (env PORT, default 8787)
  -h, --host <address>   address to bind (env HOST, default 127.0.0.1)
      --help             show this help

Environment variables:
${variables}
`
