// Tones and WAV for tests: the testing kit's (@llmrtc/llmrtc-backend/testing), one copy.
export { audioMessageData, encodeWav, tone } from '../../testing/audio.js'
