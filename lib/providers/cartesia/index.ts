export { CartesiaTTS, CARTESIA_DEFAULT_BASE_URL, CARTESIA_DEFAULT_MODEL, CARTESIA_DEFAULT_VOICE_ID, type CartesiaTTSOptions } from './cartesia-tts.js'
export { CartesiaError } from './cartesia-error.js'
export { CARTESIA_VERSION, CARTESIA_SAMPLE_RATES, type CartesiaSampleRate } from './cartesia-protocol.js'
