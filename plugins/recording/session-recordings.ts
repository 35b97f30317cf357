import { createWriteStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Clock } from '../../lib/clock.js'
import { agentChoiceOf } from '../../lib/agent/agent-choice.js'
import { LLMRTC_ERR_RECORDING_SINK } from '../../lib/errors.js'
import type { HookRegistry } from '../../lib/hooks/hook-registry.js'
import type { Logger } from '../../lib/logger.js'
import type { ChatMessage } from '../../lib/providers/types.js'
import { RECORDING_FORMATS } from '../../lib/recording/audio-sink.js'
import type { RecordingSessionInfo, RecordingSink, ResolvedRecordingOptions } from '../../lib/recording/recording-options.js'
import { SessionRecording } from '../../lib/recording/session-recording.js'
import type { SessionTranscript } from '../../lib/recording/transcript-types.js'
import type { Session } from '../../lib/sessions/session.js'
import type { SessionMedia } from '../../lib/transport/media-transport.js'

interface Entry {
  /** Undefined once the veto said no: the session's events are ignored. */
  recording: SessionRecording | undefined
  /** Resolves once recording was decided (and the audio sink opened). */
  decided: Promise<void>
  sink?: RecordingSink
  /** Unsubscribes the current media's taps. */
  untap?: () => void
  /** The history's last message when the running turn started (to find the words heard of a cut answer). */
  lastMessage?: ChatMessage | undefined
}

export interface SessionRecordingsOptions {
  options: ResolvedRecordingOptions
  clock: Clock
  hooks: HookRegistry
  log: Logger
  session: (sessionId: string) => Session | undefined
}

/**
 * The recording plugin's sessions: one SessionRecording per session followed, created on the session's
 * first event, decided (agent choice, veto), fed by the media taps and the pipeline's events, and finished
 * (transcript to `onSessionEnd` and the sink) when the session ends.
 */
export class SessionRecordings {
  readonly #o: SessionRecordingsOptions
  readonly #entries = new Map<string, Entry>()
  readonly #ending = new Set<Promise<void>>()

  constructor (options: SessionRecordingsOptions) {
    this.#o = options
  }

  /** The session's recording, once decided and not vetoed (events before the decision are kept too). */
  recording (sessionId: string): SessionRecording | undefined {
    return this.#entry(sessionId)?.recording
  }

  /** The entry of a session: created on its first event. */
  #entry (sessionId: string): Entry | undefined {
    const existing = this.#entries.get(sessionId)
    if (existing !== undefined) return existing
    const session = this.#o.session(sessionId)
    if (session === undefined || session.closed) return undefined
    const o = this.#o.options
    const recording = new SessionRecording({
      sessionId,
      clock: this.#o.clock,
      format: o.format,
      sampleRateHz: o.sampleRateHz,
      opusBitrate: o.opusBitrate,
      maxBufferedBytes: o.maxBufferedBytes,
      ...(o.redactToolCall !== undefined ? { redactToolCall: o.redactToolCall } : {}),
      onError: (err) => { this.#report(sessionId, err) }
    })
    const entry: Entry = { recording, decided: Promise.resolve() }
    entry.decided = this.#decide(session, entry)
    this.#entries.set(sessionId, entry)
    return entry
  }

  /** Media came up for a session: its microphone and its output are tapped. */
  media (sessionId: string, media: SessionMedia): void {
    const entry = this.#entry(sessionId)
    if (entry?.recording === undefined) return
    entry.untap?.()
    const recording = entry.recording
    const offAudio = media.onAudio((frame) => { recording.user(frame) })
    const offOutput = media.output.onFrame?.((pcm, rateHz) => { recording.assistant(pcm, rateHz) })
    if (offOutput === undefined) this.#o.log.warn({ sessionId }, 'this transport\'s output has no frame tap: the assistant\'s side is not recorded')
    entry.untap = () => { offAudio(); offOutput?.() }
  }

  /** The session's media went away (the recording goes on: silence until it comes back). */
  mediaClosed (sessionId: string): void {
    const entry = this.#entries.get(sessionId)
    entry?.untap?.()
    if (entry !== undefined) entry.untap = undefined
  }

  /**
   * Runs `fn` with the session's recording, creating it on the session's first event. Never throws: it runs
   * in guardrail hooks (onSTTEnd), where a throw would block the turn, and in channel listeners.
   */
  with (sessionId: string, fn: (recording: SessionRecording, entry: Entry) => void): void {
    try {
      const entry = this.#entry(sessionId)
      if (entry?.recording !== undefined) fn(entry.recording, entry)
    } catch (err) {
      this.#report(sessionId, err)
    }
  }

  /** Like `with`, but never creates one (channel events of sessions not followed). */
  ifFollowed (sessionId: string, fn: (recording: SessionRecording, entry: Entry) => void): void {
    try {
      const entry = this.#entries.get(sessionId)
      if (entry?.recording !== undefined) fn(entry.recording, entry)
    } catch (err) {
      this.#report(sessionId, err)
    }
  }

  /** The session ended: the recording is finished and the transcript handed over. */
  ended (sessionId: string, keepEmpty: boolean): void {
    const entry = this.#entries.get(sessionId)
    if (entry === undefined) return
    this.#entries.delete(sessionId)
    entry.untap?.()
    const done = this.#finish(sessionId, entry, keepEmpty).catch((err: unknown) => { this.#report(sessionId, err) })
    this.#ending.add(done)
    void done.finally(() => { this.#ending.delete(done) })
  }

  /** Finishes every session still followed (server close) and waits for all. */
  async close (): Promise<void> {
    for (const sessionId of [...this.#entries.keys()]) this.ended(sessionId, false)
    await Promise.all([...this.#ending])
  }

  async #decide (session: Session, entry: Entry): Promise<void> {
    const o = this.#o.options
    const info: RecordingSessionInfo = { sessionId: session.id, principal: session.principal, format: o.format, ...RECORDING_FORMATS[o.format] }
    try {
      const chosen = agentChoiceOf(session)?.record
      let record = chosen ?? o.sessions === 'all'
      if (record && o.shouldRecord !== undefined) record = await o.shouldRecord(info)
      if (record !== true) {
        entry.untap?.()
        entry.recording = undefined
        this.#o.log.debug({ sessionId: session.id }, 'session not recorded')
        return
      }
      if (o.directory !== undefined) {
        const base = join(o.directory, fileName(session.id))
        await mkdir(o.directory, { recursive: true })
        entry.sink = { transcript: async (transcript) => { await writeFile(`${base}.json`, JSON.stringify(transcript, null, 2)) } }
        if (o.audio) {
          const file = `${base}.${info.extension}`
          entry.recording?.startAudio(createWriteStream(file), file)
        }
      } else if (o.sink !== undefined) {
        entry.sink = await o.sink(info)
        const audio = entry.sink?.audio
        if (o.audio && audio !== undefined) entry.recording?.startAudio(audio)
      }
    } catch (err) {
      // A veto or sink that failed: the session is not recorded (the safe side), and the call goes on.
      entry.untap?.()
      entry.recording = undefined
      this.#report(session.id, new LLMRTC_ERR_RECORDING_SINK('the recording could not start', { cause: err }))
    }
  }

  async #finish (sessionId: string, entry: Entry, keepEmpty: boolean): Promise<void> {
    await entry.decided
    const recording = entry.recording
    if (recording === undefined) return
    if (!keepEmpty && recording.transcript.turnCount === 0 && !recording.recordingAudio) return
    let transcript: SessionTranscript = await recording.end()
    const redact = this.#o.options.redact
    if (redact !== undefined) transcript = await redact(transcript)
    // Stored first, so an onSessionEnd handler finds the files in place.
    try {
      await entry.sink?.transcript?.(transcript)
    } catch (err) {
      this.#report(sessionId, new LLMRTC_ERR_RECORDING_SINK('the transcript could not be stored', { cause: err }))
    }
    await this.#o.hooks.run('onSessionEnd', sessionId, transcript)
  }

  #report (sessionId: string, error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error))
    this.#o.log.error({ err, sessionId }, 'recording failed')
    void this.#o.hooks.run('onError', err, { code: 'INTERNAL_ERROR', component: 'recording', sessionId, timestamp: this.#o.clock.now() })
  }
}

/** A session id as a file name (ids are UUIDs; anything else is made safe). */
function fileName (sessionId: string): string {
  return sessionId.replace(/[^A-Za-z0-9_-]/g, '_')
}
