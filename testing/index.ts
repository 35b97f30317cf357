/**
 * The testing kit, `@llmrtc/llmrtc-backend/testing`: what llmrtc's own tests use to test an app that
 * registers llmrtc, without keys, audio devices or network (docs/testing.md).
 */
export { ScriptedLLM, ScriptedSTT, ScriptedTTS, untilAborted } from './scripted-providers.js'
export { connect, connectOverNetwork, type ReceivedMessage, type RecordingSocket } from './recording-socket.js'
export { llmConformance, sttConformance, ttsConformance, type ConformanceAssert } from './provider-conformance.js'
export { audioMessageData, encodeWav, tone, type ToneOptions } from './audio.js'
export { DEFAULT_WAIT_TIMEOUT_MS, until } from './wait.js'
