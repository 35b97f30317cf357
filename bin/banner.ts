/** What serves one role, and why (from `app.llmrtcProviders`). */
export interface BannerRole {
  provider: string
  reason: string
}

export interface BannerInput {
  /** The bound address, as `server.start()` resolves it. */
  host: string
  port: number
  /** Path of the signaling WebSocket. */
  path: string
  stt: BannerRole
  llm: BannerRole
  tts: BannerRole
  /** The command that prints every option where the CLI runs (default `npx llmrtc-backend --help`). */
  helpCommand?: string
}

/**
 * The start-up banner printed on stdout beside the JSON logs: which provider serves each role and why,
 * where to connect, and the one line to set for a real model (or real speech).
 */
export function formatBanner (input: BannerInput): string {
  // A wildcard bind is reached on loopback from this machine.
  const host = input.host === '0.0.0.0' || input.host === '::' ? '127.0.0.1' : input.host.includes(':') ? `[${input.host}]` : input.host
  const lines = [
    '',
    `llmrtc is ready: open http://${host}:${input.port}/ (voice WebSocket ws://${host}:${input.port}${input.path})`,
    '',
    ...(['stt', 'llm', 'tts'] as const).map(role => `  ${role.toUpperCase()}  ${input[role].provider.padEnd(24)} ${input[role].reason}`),
    '',
    ...hints(input).map(hint => `  ${hint}`),
    ''
  ]
  return lines.join('\n') + '\n'
}

function hints (input: BannerInput): string[] {
  const out: string[] = []
  if (input.llm.provider === 'builtin-assistant') {
    out.push('For a real model set OPENAI_API_KEY=sk-...  (or a local server: LLM_PROVIDER=openai OPENAI_BASE_URL=http://127.0.0.1:11434/v1)')
  }
  if (input.stt.provider === 'builtin-placeholder-stt') {
    out.push('No speech recognizer: install pocketsphinx pocketsphinx-en-us, or set OPENAI_API_KEY or DEEPGRAM_API_KEY')
  } else if (input.stt.provider === 'pocketsphinx-stt') {
    out.push('pocketsphinx understands a few phrases only ("what time is it", "repeat after me ..."). For real speech recognition')
    out.push('set OPENAI_API_KEY or DEEPGRAM_API_KEY, or run a local Whisper server (STT_PROVIDER=openai, see docs/providers.md)')
  }
  if (input.tts.provider === 'builtin-tone-tts') {
    out.push('No speech synthesizer: answers are tones. Install espeak-ng for a voice, or set OPENAI_API_KEY, CARTESIA_API_KEY or DEEPGRAM_API_KEY')
  }
  if (out.length > 0) out.push(`All options: ${input.helpCommand ?? 'npx llmrtc-backend --help'}, docs/providers.md`)
  return out
}
