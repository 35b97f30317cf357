import { randomUUID } from 'node:crypto'
import { LLMRTC_ERR_HOOK_BLOCKED, clientErrorOf, protocolCodeOf } from '../errors.js'
import type { ErrorContext, TurnContext } from '../hooks/hook-types.js'
import type { ChatMessage, LLMRequest, STTResult, ToolCallRequest } from '../providers/types.js'
import { AsyncQueue } from '../streams/async-queue.js'
import { heardText } from './heard-text.js'
import { callSignal, classifyProviderError, type ProviderRole } from './provider-call.js'
import { SentenceChunker } from './sentence-chunker.js'
import { SpeechTextFilter, filterSpeechText } from './speech-text-filter.js'
import { SpeechWriter } from './speech-writer.js'
import type { PrefetchedAnswer, TurnAgent, TurnEnvironment, TurnInput, TurnResult, TurnTimings } from './turn-types.js'

/** Thrown inside a turn to end it after an error was already reported. */
class TurnEnded extends Error {}

/**
 * One conversational turn: transcript → streamed LLM answer → sentence-by-sentence TTS → paced output,
 * sending the protocol messages in docs/protocol.md's order. `cancel()` (barge-in) stops everything at once
 * through one AbortSignal; `run()` then settles with what the user actually heard.
 */
export class Turn {
  readonly ctx: TurnContext
  readonly timings: TurnTimings = {}
  readonly #env: TurnEnvironment
  readonly #input: TurnInput
  readonly #controller = new AbortController()
  readonly #playedAtStart: number
  #speech: SpeechWriter | undefined
  #failed = false
  #ttsStarted = false
  #ttsCompleted = false
  #assistantText = ''
  /** Where the final answer starts in the turn's text (after tool rounds, whose text is recorded with their calls). */
  #finalAnswerFrom = 0
  #finalSentencesFrom = 0
  #sentencesOffered = 0
  #chunkIndex = 0
  #userMessage: ChatMessage | undefined
  #prefetched: PrefetchedAnswer | undefined
  #prefetchedSpeech: PrefetchedAnswer['speech']
  /** Milliseconds of the turn's audio played when it was cancelled (the output stops there). */
  #playedAtCancel: number | undefined

  constructor (env: TurnEnvironment, input: TurnInput) {
    this.#env = env
    this.#input = input
    this.ctx = { turnId: input.turnId ?? randomUUID(), sessionId: env.sessionId, startTime: env.clock.now() }
    this.#playedAtStart = env.output.playedMs
  }

  get signal (): AbortSignal { return this.#controller.signal }
  /** Where the turn's speech goes. */
  get output (): TurnEnvironment['output'] { return this.#env.output }
  /** The user's message this turn put in the history (undefined before its transcript, or for none). */
  get userMessage (): ChatMessage | undefined { return this.#userMessage }
  /** The user's utterance (a WAV file; empty when the assistant speaks first). */
  get audio (): Buffer { return this.#input.audio }
  /** True when the turn answers the user's words (not the assistant speaking first). */
  get userWords (): boolean { return this.#input.assistantFirst === undefined && this.#input.audio.length > 0 }
  /** True once any of the answer's audio played. */
  get heardAnything (): boolean { return this.#env.output.playedMs > this.#playedAtStart }
  /** True once the assistant's audio started and until it played out. */
  get speaking (): boolean { return this.#ttsStarted && !this.#ttsCompleted }

  /**
   * Barge-in: aborts the LLM stream, TTS calls and queued audio now. Sends `tts-cancelled` if audio was
   * playing, with the words heard until then (ours). Returns whether it was.
   */
  cancel (): boolean {
    if (this.#controller.signal.aborted) return false
    const wasSpeaking = this.speaking
    this.#controller.abort()
    this.#env.output.clear()
    // Read once the queue is dropped: nothing plays after this, so run() keeps the same figure for the history.
    this.#playedAtCancel = this.#env.output.playedMs - this.#playedAtStart
    // What was heard is known now (a walk over the turn's few sentences): the message does not wait for run().
    if (wasSpeaking) this.#env.send({ type: 'tts-cancelled', heard: this.#heard(0) })
    return wasSpeaking
  }

  /** The words of the turn's speech (from its `from`th sentence) whose audio played before the cut. */
  #heard (from: number): string {
    const played = this.#playedAtCancel ?? this.#env.output.playedMs - this.#playedAtStart
    return heardText((this.#speech?.sentences ?? []).slice(from), played)
  }

  async run (): Promise<TurnResult> {
    const env = this.#env
    const signal = this.#controller.signal
    let outcome: TurnResult['outcome'] = 'completed'
    // Until its first audio, the turn is thinking (the thinking sound plays if the answer is late).
    if (this.#input.assistantFirst === undefined) env.background?.think(true)
    try {
      await env.hooks.run('onTurnStart', this.ctx, this.#input.audio)
      const first = this.#input.assistantFirst
      const unanswered = this.#input.unanswered
      if (first !== undefined) {
        await this.#answer(undefined, first)
      } else if (unanswered !== undefined) {
        env.send({ type: 'transcript', text: unanswered.content, isFinal: true })
        this.#userMessage = unanswered
        env.onQuestion?.(this.ctx.turnId)
        await this.#answer(unanswered)
      } else {
        const transcript = await this.#transcribe()
        // Cut off while its hooks ran: the words are not yet the user's message.
        if (signal.aborted) throw new TurnEnded('cancelled')
        if (transcript === '') {
          outcome = 'empty'
        } else {
          const userMessage: ChatMessage = { role: 'user', content: transcript, ...(this.#input.attachments.length > 0 ? { attachments: this.#input.attachments } : {}) }
          env.history.add(userMessage)
          this.#userMessage = userMessage
          env.onQuestion?.(this.ctx.turnId)
          this.#prefetched = this.#input.prefetch?.(transcript)
          await this.#answer(userMessage)
        }
      }
    } catch (error) {
      if (error instanceof TurnEnded && error.message === 'blocked') outcome = 'blocked'
      else if (!(error instanceof TurnEnded) && !signal.aborted) await this.#fail('server', error)
    }
    env.background?.stopThinking()
    if (outcome !== 'blocked') {
      if (this.#failed) outcome = 'failed'
      else if (signal.aborted) outcome = 'cancelled'
    }
    if (outcome === 'cancelled') {
      this.#assistantText = this.#heard(this.#finalSentencesFrom)
    }
    if ((outcome === 'completed' || outcome === 'cancelled') && this.#assistantText !== '') {
      env.history.add({ role: 'assistant', content: this.#assistantText })
    }
    const end = env.clock.now()
    this.timings.totalMs = end - this.#input.speechEndedAt
    await env.hooks.run('onTurnEnd', this.ctx, { startTime: this.ctx.startTime, endTime: end, durationMs: end - this.ctx.startTime })
    return { outcome, ctx: this.ctx, timings: this.timings, assistantText: this.#assistantText }
  }

  async #transcribe (): Promise<string> {
    const env = this.#env
    const started = env.clock.now()
    await env.hooks.run('onSTTStart', this.ctx, this.#input.audio)
    const call = callSignal(this.signal, env.options.sttTimeoutMs)
    let result: STTResult
    try {
      result = await this.#input.transcribe(call.signal)
      call.signal.throwIfAborted()
    } catch (error) {
      await this.#providerFailed('stt', env.providers.stt.name, error, call, env.options.sttTimeoutMs)
      throw new TurnEnded('failed')
    }
    const end = env.clock.now()
    await this.#guardrail('onSTTEnd', () => env.hooks.run('onSTTEnd', this.ctx, result, { startTime: started, endTime: end, durationMs: end - started }))
    this.timings.transcriptMs = end - this.#input.speechEndedAt
    const text = result.text.trim()
    if (text !== '') env.send({ type: 'transcript', text, isFinal: true })
    return text
  }

  async #answer (userMessage: ChatMessage | undefined, first?: TurnInput['assistantFirst']): Promise<void> {
    const env = this.#env
    const signal = this.signal
    const speech = this.#speech = new SpeechWriter({
      tts: env.providers.tts,
      output: env.output,
      hooks: env.hooks,
      ctx: this.ctx,
      signal,
      timeoutMs: env.options.ttsTimeoutMs,
      onFirstAudio: () => {
        this.timings.firstAudioOutMs = env.clock.now() - this.#input.speechEndedAt
        this.timings.firstAudioMs ??= this.timings.firstAudioOutMs
      }
    })
    const streamedTTS = env.options.streamingTTS && env.providers.tts.speakStream !== undefined
    const sentences = new AsyncQueue<string>(Infinity, signal)
    const speaking = streamedTTS ? this.#speakQueued(speech, sentences) : Promise.resolve()
    // A TTS failure stops the turn at once (the LLM stream included), and is reported once.
    speaking.catch(async (error: unknown) => { await this.#fail('tts', error) })
    const chunker = new SentenceChunker({ minChars: env.options.sentenceMinChars })
    // Markdown, emoji and code are not read aloud; the client and the history keep the LLM's text.
    const filters = env.options.speechFilters
    const filter = filters === false ? undefined : new SpeechTextFilter(filters)
    const say = (content: string): void => {
      if (streamedTTS) for (const sentence of chunker.push(filter === undefined ? content : filter.push(content))) this.#startSpeaking(sentences, sentence)
    }
    const flushSpeech = (): void => {
      if (!streamedTTS) return
      const rest = filter?.flush() ?? ''
      if (rest !== '') for (const sentence of chunker.push(rest)) this.#startSpeaking(sentences, sentence)
      for (const sentence of chunker.flush()) this.#startSpeaking(sentences, sentence)
    }

    const started = env.clock.now()
    let text: string
    try {
      if (first !== undefined && 'say' in first) {
        text = first.say
        this.#prefetched = { request: { messages: [] }, stream: async function * () { yield { content: first.say, done: true } } }
        await this.#llmRound({ messages: [] }, say, false, false)
      } else if (first !== undefined) {
        const messages = env.history.toMessages()
        messages.push({ role: 'system', content: first.reply })
        text = (await this.#llmRound({ messages }, say)).text
      } else {
        text = env.agent === undefined || userMessage === undefined
          ? (await this.#llmRound({ messages: env.history.toMessages() }, say)).text
          : await this.#toolLoop(env.agent, userMessage, say, flushSpeech)
      }
    } catch (error) {
      sentences.abort()
      throw error
    }
    const end = env.clock.now()
    // The guardrail sees the whole answer before the client gets it as one `llm` message.
    await this.#guardrail('onLLMEnd', () => env.hooks.run('onLLMEnd', this.ctx, { fullText: text }, { startTime: started, endTime: end, durationMs: end - started }))
    this.#assistantText = text.slice(this.#finalAnswerFrom)
    // The last sentence is ready now: speaking starts (tts-start) before the closing llm messages.
    if (streamedTTS) {
      flushSpeech()
      sentences.close()
    }
    env.send({ type: 'llm-chunk', content: '', done: true })
    env.send({ type: 'llm', text })
    const spokenText = streamedTTS || filters === false ? text : filterSpeechText(text, filters)
    if (!streamedTTS && spokenText.trim() !== '') this.#startSpeaking(undefined, spokenText)
    const ttsStarted = env.clock.now()
    try {
      if (streamedTTS) await speaking
      else if (spokenText.trim() !== '') await this.#speakWhole(speech, spokenText)
    } catch (error) {
      await this.#fail('tts', error)
      throw new TurnEnded('failed')
    }
    if (this.#ttsStarted && !signal.aborted) {
      await env.output.drain()
      if (signal.aborted) return
      this.#ttsCompleted = true
      env.send({ type: 'tts-complete' })
      const ttsEnd = env.clock.now()
      await env.hooks.run('onTTSEnd', this.ctx, { startTime: ttsStarted, endTime: ttsEnd, durationMs: ttsEnd - ttsStarted })
    }
    if (env.agent !== undefined && userMessage !== undefined && !signal.aborted) {
      await env.agent.afterAnswer({ ctx: this.ctx, userText: userMessage.content, assistantText: this.#assistantText, keep: userMessage })
    }
  }

  /**
   * Two-phase execution. Phase 1: LLM rounds that may call tools, each streamed into speech as it comes
   * ("let me look that up" is heard while the tool runs), until a round answers without tools, the round
   * or time bound is hit, or a transition moves the playbook. Phase 2: one round without tools, in the
   * (new) stage's voice, when phase 1 ended without an answer. Returns all text said in the turn.
   */
  async #toolLoop (agent: TurnAgent, userMessage: ChatMessage, say: (content: string) => void, flushSpeech: () => void): Promise<string> {
    const env = this.#env
    const signal = this.signal
    await agent.begin()
    const phaseEndsAt = env.clock.now() + agent.toolPhaseTimeoutMs
    let text = ''
    let withTools = true
    for (let round = 1; !signal.aborted; round++) {
      const spec = agent.round(withTools)
      const request: LLMRequest = { messages: [{ role: 'system', content: spec.systemPrompt }, ...env.history.messages] }
      if (spec.tools.length > 0) {
        request.tools = spec.tools
        if (spec.toolChoice !== undefined) request.toolChoice = spec.toolChoice
      }
      if (spec.config !== undefined) request.config = spec.config
      // Rounds are said one after the other: keep a space between them.
      const result = await this.#llmRound(request, say, text !== '' && !/\s$/.test(text))
      text += result.text
      if (!withTools || result.toolCalls.length === 0) break
      // What was said before the tool calls is spoken while they run.
      flushSpeech()
      // The thinking sound is wanted while the tools run (after what was said before them), then until
      // the next answer's audio.
      env.background?.think()
      const change = await agent.runToolCalls(result.toolCalls, { ctx: this.ctx, signal, roundText: result.text })
      env.background?.think(true)
      this.#finalAnswerFrom = text.length
      this.#finalSentencesFrom = this.#sentencesOffered
      if (signal.aborted) break
      let answerNow = round >= agent.maxToolRounds || env.clock.now() >= phaseEndsAt
      if (change !== undefined) {
        const endsToolPhase = agent.twoPhase
        if (await agent.applyChange(change, { ctx: this.ctx, keep: userMessage }) && endsToolPhase) answerNow = true
      }
      if (answerNow) withTools = false
    }
    return text
  }

  /**
   * One LLM call, streamed: each chunk goes to the client (`llm-chunk`) and to `say`. Returns its text
   * and the tool calls it asked for. A failure is reported (LLM_ERROR / LLM_TIMEOUT) and ends the turn.
   */
  async #llmRound (request: LLMRequest, say: (content: string) => void, separate = false, hooks = true): Promise<{ text: string, toolCalls: ToolCallRequest[] }> {
    const env = this.#env
    const llm = env.providers.llm
    // A prefetched answer (preemptive generation, or words to say) stands for the first LLM call.
    const prefetched = this.#prefetched
    this.#prefetched = undefined
    if (prefetched !== undefined) request = prefetched.request
    this.#prefetchedSpeech = prefetched?.speech
    if (hooks) await env.hooks.run('onLLMStart', this.ctx, request)
    const call = callSignal(this.signal, env.options.llmTimeoutMs)
    request.signal = call.signal
    let text = ''
    let toolCalls: ToolCallRequest[] = []
    const emit = (content: string): void => {
      if (text === '' && separate && !/^\s/.test(content)) content = ` ${content}`
      text += content
      env.send({ type: 'llm-chunk', content, done: false })
      say(content)
    }
    try {
      const stream = prefetched !== undefined ? prefetched.stream(call.signal) : llm.stream?.(request)
      if (stream !== undefined) {
        for await (const chunk of stream) {
          if (call.signal.aborted) break
          if (chunk.toolCalls !== undefined && chunk.toolCalls.length > 0) toolCalls = chunk.toolCalls
          if (chunk.content === '') continue
          this.timings.firstTokenMs ??= env.clock.now() - this.#input.speechEndedAt
          emit(chunk.content)
          if (hooks) await env.hooks.run('onLLMChunk', this.ctx, chunk, this.#chunkIndex++)
        }
      } else {
        const result = await llm.complete(request)
        this.timings.firstTokenMs ??= env.clock.now() - this.#input.speechEndedAt
        toolCalls = result.toolCalls ?? []
        if (result.fullText !== '') emit(result.fullText)
      }
      call.signal.throwIfAborted()
    } catch (error) {
      await this.#providerFailed('llm', llm.name, error, call, env.options.llmTimeoutMs)
      throw new TurnEnded('failed')
    }
    return { text, toolCalls }
  }

  /** Sends `tts-start` before the first sentence (as soon as the first sentence is ready). */
  #startSpeaking (queue: AsyncQueue<string> | undefined, sentence: string): void {
    if (!this.#ttsStarted) {
      this.#ttsStarted = true
      this.#env.send({ type: 'tts-start' })
    }
    this.#sentencesOffered++
    queue?.offer(sentence)
  }

  async #speakQueued (speech: SpeechWriter, sentences: AsyncQueue<string>): Promise<void> {
    let first = true
    for await (const sentence of sentences) {
      if (this.signal.aborted) return
      // The first sentence may have been synthesized ahead, with the answer (preemptive generation).
      const ahead = first ? this.#prefetchedSpeech : undefined
      first = false
      const source = ahead !== undefined && ahead.text === sentence ? ahead.stream : undefined
      // Known to be last when the LLM has finished and nothing else is queued.
      await speech.speakStreamed(sentence, sentences.closed && sentences.size === 0, source)
    }
  }

  async #speakWhole (speech: SpeechWriter, text: string): Promise<void> {
    if (this.#env.outputIsWebSocket) {
      // No track and no streaming: the whole utterance goes in one `tts` message, in the TTS's format.
      const call = callSignal(this.signal, this.#env.options.ttsTimeoutMs)
      await this.#env.hooks.run('onTTSStart', this.ctx, text)
      try {
        const result = await this.#env.providers.tts.speak(text, { signal: call.signal })
        call.signal.throwIfAborted()
        this.#env.send({ type: 'tts', format: result.format ?? 'wav', data: result.audio.toString('base64') })
      } catch (error) {
        const classified = classifyProviderError('tts', this.#env.providers.tts.name, error, call, this.signal, this.#env.options.ttsTimeoutMs)
        if (classified !== undefined) throw classified
      }
      return
    }
    await speech.speakWhole(text)
  }

  async #guardrail (hook: 'onSTTEnd' | 'onLLMEnd', run: () => Promise<void>): Promise<void> {
    try {
      await run()
    } catch (error) {
      this.#env.log.info({ hook, turnId: this.ctx.turnId }, 'turn blocked by a guardrail hook')
      this.cancel()
      const blocked = new LLMRTC_ERR_HOOK_BLOCKED(hook, error instanceof Error ? error.message : String(error), { cause: error })
      await this.#env.hooks.run('onError', blocked, this.#errorContext('hook', blocked))
      throw new TurnEnded('blocked')
    }
  }

  async #providerFailed (role: ProviderRole, name: string, error: unknown, call: ReturnType<typeof callSignal>, timeoutMs: number): Promise<void> {
    const classified = classifyProviderError(role, name, error, call, this.signal, timeoutMs)
    if (classified === undefined) return
    await this.#fail(role, classified)
  }

  /** Ends the turn on an error: stops output, tells the client, runs the error hooks. Reports once. */
  async #fail (component: ErrorContext['component'], error: unknown): Promise<void> {
    if (this.#failed) return
    this.#failed = true
    const err = error instanceof Error ? error : new Error(String(error))
    this.#env.log.warn({ err, turnId: this.ctx.turnId, component }, 'turn failed')
    this.cancel()
    this.#env.send(clientErrorOf(err))
    if (component === 'stt') await this.#env.hooks.run('onSTTError', this.ctx, err)
    else if (component === 'llm') await this.#env.hooks.run('onLLMError', this.ctx, err)
    else if (component === 'tts') await this.#env.hooks.run('onTTSError', this.ctx, err)
    await this.#env.hooks.run('onError', err, this.#errorContext(component, err))
  }

  #errorContext (component: ErrorContext['component'], error: unknown): ErrorContext {
    return { code: protocolCodeOf(error), component, sessionId: this.ctx.sessionId, turnId: this.ctx.turnId, timestamp: this.#env.clock.now() }
  }
}
