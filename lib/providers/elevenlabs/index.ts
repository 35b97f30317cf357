export { ElevenLabsTTS } from './elevenlabs-tts.js'
export {
  ELEVENLABS_DEFAULT_BASE_URL,
  ELEVENLABS_DEFAULT_MODEL,
  ELEVENLABS_DEFAULT_VOICE_ID,
  ELEVENLABS_SAMPLE_RATES,
  type ElevenLabsSampleRate,
  type ElevenLabsTTSOptions,
  type ElevenLabsVoiceSettings
} from './options.js'
export { ElevenLabsError } from './errors.js'
export { WordAligner, type CharAlignment } from './alignment.js'
// Scribe STT (speech to text) exports go here: lib/providers/elevenlabs/scribe-*.ts.
export { ElevenLabsSTT, ELEVENLABS_STT_DEFAULTS, elevenLabsSTTOptionsFromEnv, resolveElevenLabsSTTOptions, type ElevenLabsSTTOptions } from './scribe-stt.js'
