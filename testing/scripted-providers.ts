import type { LLMChunk, LLMProvider, LLMRequest, ToolCallRequest, STTConfig, STTProvider, STTResult, TTSConfig, TTSProvider } from '../lib/providers/types.js'

/** Resolves when `signal` aborts (rejecting with its reason), for fakes that wait "forever". */
export async function untilAborted (signal: AbortSignal | undefined): Promise<never> {
  return await new Promise((_resolve, reject) => {
    if (signal === undefined) return
    if (signal.aborted) { reject(signal.reason); return }
    signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
  })
}

/** An LLM that streams scripted answers (one per call) as the given chunks; can hang or fail on cue. */
export class ScriptedLLM implements LLMProvider {
  readonly name = 'scripted-llm'
  readonly requests: LLMRequest[] = []
  aborted = 0
  /**
   * Each call takes the next script: chunks to stream, 'hang' (until aborted), an Error to throw (after the
   * chunks), or tool calls to ask for (on the last chunk, as the OpenAI provider does).
   */
  constructor (public scripts: Array<string[] | 'hang' | { chunks: string[], error: Error } | { chunks: string[], hangAfter: true } | { chunks: string[], toolCalls: ToolCallRequest[] }>) {}

  async complete (request: LLMRequest): Promise<{ fullText: string, toolCalls?: ToolCallRequest[] }> {
    let text = ''
    let toolCalls: ToolCallRequest[] | undefined
    for await (const chunk of this.stream(request)) {
      text += chunk.content
      if (chunk.toolCalls !== undefined) toolCalls = chunk.toolCalls
    }
    return { fullText: text, ...(toolCalls !== undefined ? { toolCalls } : {}) }
  }

  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    this.requests.push({ ...request, messages: request.messages.slice() })
    const script = this.scripts.shift() ?? ['OK.']
    request.signal?.addEventListener('abort', () => { this.aborted++ }, { once: true })
    if (script === 'hang') {
      await untilAborted(request.signal)
      return
    }
    const chunks = Array.isArray(script) ? script : script.chunks
    for (const content of chunks) {
      await Promise.resolve()
      request.signal?.throwIfAborted()
      yield { content, done: false }
    }
    if (!Array.isArray(script) && 'error' in script) throw script.error
    if (!Array.isArray(script) && 'hangAfter' in script) await untilAborted(request.signal)
    if (!Array.isArray(script) && 'toolCalls' in script) {
      yield { content: '', done: true, toolCalls: script.toolCalls, stopReason: 'tool_use' }
      return
    }
    yield { content: '', done: true }
  }
}

/** An STT returning scripted transcripts (or throwing) per call; optional streaming with interims. */
export class ScriptedSTT implements STTProvider {
  readonly name = 'scripted-stt'
  readonly calls: Buffer[] = []
  constructor (public transcripts: Array<string | Error | 'hang'>, streaming?: { interims: string[] }) {
    if (streaming !== undefined) {
      this.transcribeStream = async function * (this: ScriptedSTT, audio: AsyncIterable<Buffer>, config?: STTConfig): AsyncIterable<STTResult> {
        let bytes = 0
        let sent = 0
        for await (const chunk of audio) {
          bytes += chunk.length
          if (sent < streaming.interims.length) yield { text: streaming.interims[sent++] ?? '', isFinal: false }
        }
        config?.signal?.throwIfAborted()
        const next = this.transcripts.shift() ?? ''
        if (next instanceof Error) throw next
        yield { text: bytes > 0 ? String(next) : '', isFinal: true }
      }
    }
  }

  transcribeStream?: (audio: AsyncIterable<Buffer>, config?: STTConfig) => AsyncIterable<STTResult>

  async transcribe (audio: Buffer, config?: STTConfig): Promise<STTResult> {
    this.calls.push(audio)
    const next = this.transcripts.shift() ?? ''
    if (next === 'hang') return await untilAborted(config?.signal)
    config?.signal?.throwIfAborted()
    if (next instanceof Error) throw next
    return { text: next, isFinal: true }
  }
}

/** A TTS that yields `msPerChar` of constant PCM per character at 16 kHz, in chunks of 20 ms; can fail. */
export class ScriptedTTS implements TTSProvider {
  readonly name = 'scripted-tts'
  readonly pcmSampleRate = 16000
  readonly spoken: string[] = []
  failOn: string | undefined
  constructor (readonly msPerChar = 10) {}

  async speak (text: string, config?: TTSConfig): Promise<{ audio: Buffer, format: 'pcm', sampleRate: number }> {
    config?.signal?.throwIfAborted()
    this.spoken.push(text)
    return { audio: this.#pcm(text), format: 'pcm', sampleRate: 16000 }
  }

  async * speakStream (text: string, config?: TTSConfig): AsyncIterable<Buffer> {
    this.spoken.push(text)
    if (this.failOn !== undefined && text.includes(this.failOn)) throw new Error('voice server exploded')
    const pcm = this.#pcm(text)
    for (let i = 0; i < pcm.length; i += 640) {
      await Promise.resolve()
      if (config?.signal?.aborted === true) return
      yield pcm.subarray(i, i + 640)
    }
  }

  #pcm (text: string): Buffer {
    const samples = new Int16Array(Math.round(text.length * this.msPerChar * 16))
    samples.fill(3000)
    return Buffer.from(samples.buffer)
  }
}
