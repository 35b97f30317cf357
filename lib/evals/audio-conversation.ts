import { resample } from '../audio/resampler.js'
import { encodeWav } from '../audio/wav.js'
import { monotonicClock, type Clock } from '../clock.js'
import type { ServerMessage } from '../protocol/server-messages.js'
import { EspeakTTS } from '../providers/local/espeak-tts.js'
import type { STTProvider, TTSProvider } from '../providers/types.js'
import { loadWrtc, type Wrtc } from '../../plugins/webrtc/wrtc.js'
import type { StepObservation } from './expectations.js'
import { observeMessages } from './observe.js'
import type { EvalConversation, EvalTarget } from './run-scenarios.js'
import { WebRTCCaller } from './webrtc-caller.js'

/** A frame this loud (peak |sample|) is sound, quieter ones are silence. */
const LOUD_PEAK = 1000
/** Synthesized speech quieter than this (peak |sample|) at its ends is trimmed. */
const SPEECH_FLOOR = 300
/** After the turn ended, the answer's audio is over once this much silence came in a row. */
const QUIET_AFTER_ANSWER_MS = 600

export interface AudioTargetOptions {
  /** The server's signaling WebSocket URL (`ws://127.0.0.1:port/`). */
  url: string
  /** Transcribes what the caller heard (the server's configured STT). */
  stt: STTProvider
  initialStage: string | undefined
  /** Speaks the user's lines (default: espeak-ng, en-us). */
  voice?: TTSProvider
  /** Longest wait for the end of one answer, from the end of the user's line, in ms (default 30 000). */
  stepTimeoutMs?: number
  /** Measures latencies and runs the timeouts (default: the monotonic clock). */
  clock?: Clock
  wrtc?: Wrtc
}

/**
 * Audio mode: each scenario is a call over the full WebRTC path. The user's lines are synthesized
 * (espeak-ng) and sent on the microphone track in real time; the server hears them through its VAD,
 * turn detection and STT; the caller records the answer from the server's track and transcribes it with
 * the configured STT, so the expectations check what a caller actually heard.
 */
export function audioTarget (options: AudioTargetOptions): EvalTarget {
  const voice = options.voice ?? new EspeakTTS()
  const clock = options.clock ?? monotonicClock
  return {
    open: async () => {
      await voice.init?.()
      const caller = await WebRTCCaller.connect(options.url, { wrtc: options.wrtc ?? loadWrtc(), clock })
      try {
        // A configured greeting plays when the media is up: the first line waits until it has ended.
        await caller.waitForQuiet(QUIET_AFTER_ANSWER_MS, LOUD_PEAK, options.stepTimeoutMs ?? 30_000)
      } catch (err) {
        await caller.close()
        throw err
      }
      return audioConversation(caller, voice, options, clock)
    }
  }
}

function audioConversation (caller: WebRTCCaller, voice: TTSProvider, options: AudioTargetOptions, clock: Clock): EvalConversation {
  let stage = options.initialStage
  const timeoutMs = options.stepTimeoutMs ?? 30_000
  return {
    async say (line: string): Promise<StepObservation> {
      const speech = await voice.speak(line, { format: 'pcm' })
      const pcm = trimQuiet(speech.audio)
      const from = caller.messages.length
      await caller.speak(pcm, speech.sampleRate ?? voice.pcmSampleRate ?? 16_000)
      const speechEndedAt = clock.now()
      const recording = caller.record()
      const end = await caller.waitFor(m => m.type === 'metrics' || m.type === 'error', from, timeoutMs, 'the end of the answer (metrics or error; none comes when the server\'s STT heard no words)')
      await caller.waitForQuiet(QUIET_AFTER_ANSWER_MS, LOUD_PEAK, timeoutMs)
      const heard = recording.stop()
      const messages = caller.messages.slice(from)
      const seen: StepObservation = { ...observeMessages(messages, stage), answer: '' }
      stage = seen.stage
      seen.heard = messages.filter((m): m is Extract<ServerMessage, { type: 'transcript' }> => m.type === 'transcript' && m.isFinal).map(m => m.text).join(' ')
      if (end.type === 'metrics' && messages.some(m => m.type === 'tts-cancelled')) seen.incomplete = 'the answer was cut (tts-cancelled)'
      const sound = loudSpan(heard.frames)
      if (sound !== undefined) {
        seen.firstAudioMs = heard.at[sound.first] as number - speechEndedAt
        seen.totalMs = heard.at[sound.last] as number - speechEndedAt + 10
        const samples = joinFrames(heard.frames.slice(sound.first, sound.last + 1))
        const wav = encodeWav(resample(samples, 48_000, 16_000), 16_000)
        seen.answer = (await options.stt.transcribe(wav)).text.trim()
      }
      return seen
    },
    close: async () => { await caller.close() }
  }
}

/**
 * The synthesized line as samples, without its leading and trailing quiet: the line ends, and latencies
 * start, at its last audible sample.
 */
function trimQuiet (audio: Buffer): Int16Array {
  const samples = new Int16Array(audio.length >> 1)
  for (let i = 0; i < samples.length; i++) samples[i] = audio.readInt16LE(i * 2)
  let start = 0
  let end = samples.length
  while (start < end && Math.abs(samples[start] as number) < SPEECH_FLOOR) start++
  while (end > start && Math.abs(samples[end - 1] as number) < SPEECH_FLOOR) end--
  return samples.subarray(start, end)
}

/** The first and last loud frames, or undefined when all were quiet. */
function loudSpan (frames: readonly Int16Array[]): { first: number, last: number } | undefined {
  let first = -1
  let last = -1
  frames.forEach((frame, i) => {
    if (peakOf(frame) < LOUD_PEAK) return
    if (first < 0) first = i
    last = i
  })
  return first < 0 ? undefined : { first, last }
}

function peakOf (frame: Int16Array): number {
  let peak = 0
  for (const sample of frame) peak = Math.max(peak, Math.abs(sample))
  return peak
}

function joinFrames (frames: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.length, 0))
  let offset = 0
  for (const frame of frames) {
    out.set(frame, offset)
    offset += frame.length
  }
  return out
}
