import type { LiveServerMessage, ModalityTokenCount, UsageMetadata } from '@google/genai'
import type { RealtimeEvent, RealtimeUsage } from './types.js'

/**
 * Turns Gemini Live server messages (`BidiGenerateContentServerMessage`) into the relay's events. Gemini has
 * no response ids: each model turn (from its first content to `turnComplete`, or to `interrupted`) gets one
 * (`gemini-turn-N`), with one synthetic item id. The user's transcription chunks are collected and given as
 * final when the model's turn starts (or at `turnComplete`); the model's transcription chunks go out as
 * deltas, and the whole text as final at `turnComplete`. Each turn's last `usageMetadata` rides on its
 * `response-done`.
 */
export class GeminiLiveEventMapper {
  #turns = 0
  #turn: { responseId: string, itemId: string, text: string } | undefined
  #userText = ''
  #userSpeaking = false
  /** The model's turn was interrupted: its transcription still trailing in opens no new turn. */
  #interrupted = false
  /** Usage that came while no turn was open: given with the next `response-done`. */
  #usage: UsageMetadata | undefined
  /** Each call's response (a cancellation cancels that response's calls) and name (the tool response needs it). */
  readonly #calls = new Map<string, { responseId: string, name: string }>()
  #callIds = 0

  /** The function name of a call the model made (for `toolResponse`). */
  callName (callId: string): string | undefined {
    return this.#calls.get(callId)?.name
  }

  map (message: LiveServerMessage): RealtimeEvent[] {
    const events: RealtimeEvent[] = []
    if (message.usageMetadata !== undefined) this.#usage = message.usageMetadata
    const activity = message.voiceActivity?.voiceActivityType
    if (activity === 'ACTIVITY_START' && !this.#userSpeaking) {
      this.#userSpeaking = true
      events.push({ type: 'speech-started' })
    } else if (activity === 'ACTIVITY_END' && this.#userSpeaking) {
      this.#userSpeaking = false
      events.push({ type: 'speech-stopped' })
    }
    const content = message.serverContent
    if (content !== undefined) this.#content(content, events)
    for (const call of message.toolCall?.functionCalls ?? []) {
      const turn = this.#open(events)
      const callId = call.id ?? `gemini-call-${++this.#callIds}`
      const name = call.name ?? ''
      this.#calls.set(callId, { responseId: turn.responseId, name })
      events.push({ type: 'tool-call', responseId: turn.responseId, callId, name, arguments: JSON.stringify(call.args ?? {}) })
    }
    const cancelled = new Set<string>()
    for (const id of message.toolCallCancellation?.ids ?? []) {
      const call = this.#calls.get(id)
      if (call !== undefined) cancelled.add(call.responseId)
    }
    // The tool bridge cancels a cancelled response's calls still running.
    for (const responseId of cancelled) {
      if (this.#turn?.responseId === responseId) this.#turn = undefined
      events.push({ type: 'response-done', responseId, status: 'cancelled' })
    }
    if (message.goAway !== undefined) {
      const timeLeftMs = durationMs(message.goAway.timeLeft)
      events.push({ type: 'expiring', ...(timeLeftMs !== undefined ? { timeLeftMs } : {}) })
    }
    const resumption = message.sessionResumptionUpdate
    if (resumption?.resumable === true && typeof resumption.newHandle === 'string' && resumption.newHandle !== '') {
      events.push({ type: 'resume-handle', handle: resumption.newHandle })
    }
    return events
  }

  #content (content: NonNullable<LiveServerMessage['serverContent']>, events: RealtimeEvent[]): void {
    const heard = content.inputTranscription?.text
    if (heard !== undefined && heard !== '') {
      this.#userText += heard
      events.push({ type: 'user-transcript', text: heard, isFinal: false })
    }
    if (content.inputTranscription?.finished === true) this.#flushUser(events)
    if (content.interrupted === true) {
      // The user spoke over the model: the relay cuts its speech (there is nothing to truncate in Gemini).
      if (!this.#userSpeaking) events.push({ type: 'speech-started' })
      const turn = this.#turn
      this.#turn = undefined
      this.#interrupted = true
      if (turn !== undefined) events.push({ type: 'response-done', responseId: turn.responseId, status: 'cancelled' })
    }
    for (const part of content.modelTurn?.parts ?? []) {
      const data = part.inlineData?.data
      if (data === undefined || !(part.inlineData?.mimeType ?? 'audio/pcm').startsWith('audio/pcm')) continue
      const turn = this.#open(events)
      events.push({ type: 'audio', responseId: turn.responseId, itemId: turn.itemId, contentIndex: 0, pcm: pcmOf(data) })
    }
    const said = content.outputTranscription?.text
    // Transcription lags the audio: what trails in after an interruption belongs to the cut turn.
    if (said !== undefined && said !== '' && !(this.#interrupted && this.#turn === undefined)) {
      const turn = this.#open(events)
      turn.text += said
      events.push({ type: 'assistant-transcript', responseId: turn.responseId, text: said, isFinal: false })
    }
    if (content.turnComplete === true) {
      this.#interrupted = false
      this.#flushUser(events)
      const turn = this.#turn
      this.#turn = undefined
      const usage = usageOf(this.#usage)
      this.#usage = undefined
      if (turn === undefined) {
        // A turn that was interrupted (already done) or had nothing: its usage still counts.
        if (usage !== undefined) events.push({ type: 'response-done', responseId: `gemini-turn-${this.#turns}`, status: 'cancelled', usage })
        return
      }
      if (turn.text !== '') events.push({ type: 'assistant-transcript', responseId: turn.responseId, text: turn.text, isFinal: true })
      events.push({ type: 'response-done', responseId: turn.responseId, status: 'completed', ...(usage !== undefined ? { usage } : {}) })
    }
  }

  /** The model's turn in progress, started now if there is none (the user's words so far are then final). */
  #open (events: RealtimeEvent[]): { responseId: string, itemId: string, text: string } {
    if (this.#turn !== undefined) return this.#turn
    this.#interrupted = false
    this.#flushUser(events)
    const n = ++this.#turns
    this.#turn = { responseId: `gemini-turn-${n}`, itemId: `gemini-item-${n}`, text: '' }
    events.push({ type: 'response-started', responseId: this.#turn.responseId })
    return this.#turn
  }

  #flushUser (events: RealtimeEvent[]): void {
    if (this.#userText === '') return
    events.push({ type: 'user-transcript', text: this.#userText.trim(), isFinal: true })
    this.#userText = ''
  }
}

/** PCM s16le from base64, copied to an aligned buffer (Buffer.from may hand out a pooled slice at an odd offset). */
function pcmOf (base64: string): Int16Array {
  const bytes = Buffer.from(base64, 'base64')
  const pcm = new Int16Array(bytes.length >> 1)
  for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2)
  return pcm
}

/** A protobuf JSON duration (`"59s"`, `"1.5s"`) in ms. */
function durationMs (duration: string | undefined): number | undefined {
  if (typeof duration !== 'string') return undefined
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(duration.trim())
  return match === null ? undefined : Math.round(Number(match[1]) * 1000)
}

function usageOf (usage: UsageMetadata | undefined): RealtimeUsage | undefined {
  if (usage === undefined) return undefined
  const audioIn = audioTokens(usage.promptTokensDetails)
  const audioOut = audioTokens(usage.responseTokensDetails)
  return {
    inputTokens: (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0),
    // Thinking is billed as output.
    outputTokens: (usage.responseTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0),
    ...(audioIn !== undefined ? { audioInputTokens: audioIn } : {}),
    ...(audioOut !== undefined ? { audioOutputTokens: audioOut } : {}),
    ...(usage.cachedContentTokenCount !== undefined ? { cachedTokens: usage.cachedContentTokenCount } : {})
  }
}

function audioTokens (details: ModalityTokenCount[] | undefined): number | undefined {
  const audio = details?.filter(detail => detail.modality === 'AUDIO')
  if (audio === undefined || audio.length === 0) return undefined
  return audio.reduce((sum, detail) => sum + (detail.tokenCount ?? 0), 0)
}
