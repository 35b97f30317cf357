import t, { type Test } from 'tap'
import { BackgroundMixer } from '../../../lib/audio/background-mixer.js'
import { HookRegistry } from '../../../lib/hooks/hook-registry.js'
import { silentLogger } from '../../../lib/logger.js'
import { DEFAULT_TURN_OPTIONS } from '../../../lib/pipeline/turn-types.js'
import { VoicePipeline } from '../../../lib/pipeline/voice-pipeline.js'
import type { ServerMessage } from '../../../lib/protocol/server-messages.js'
import type { LLMChunk, LLMProvider, LLMRequest } from '../../../lib/providers/types.js'
import { ConversationHistory } from '../../../lib/sessions/conversation-history.js'
import { PacedAudioOutput } from '../../../lib/transport/paced-audio-output.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS, untilAborted } from '../../fakes/scripted-providers.js'
import { FakeClock } from '../../helpers/fake-clock.js'
import { say } from '../../helpers/speech-events.js'

/** The thinking sound stands as a constant level, told apart from the TTS's 3000 and from silence. */
const THINKING = 400
type Heard = 'silence' | 'thinking' | 'speech'

/** An LLM that answers only once `open()` is called (a slow first token). */
class GatedLLM implements LLMProvider {
  readonly name = 'gated-llm'
  readonly #inner = new ScriptedLLM([['Hi there, how can I help?']])
  #open: () => void = () => {}
  readonly #gate = new Promise<void>(resolve => { this.#open = resolve })
  open (): void { this.#open() }
  async complete (request: LLMRequest): Promise<{ fullText: string }> { return await this.#inner.complete(request) }
  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    await Promise.race([this.#gate, untilAborted(request.signal)])
    yield * this.#inner.stream(request)
  }
}

interface Run {
  pipeline: VoicePipeline
  output: PacedAudioOutput
  clock: FakeClock
  llm: GatedLLM
  messages: ServerMessage[]
  history: ConversationHistory
  heard: Heard[]
  mixer: BackgroundMixer | undefined
}

/** A pipeline speaking on a paced output (fake clock) with or without a thinking sound, its frames classified. */
function run (t: Test, withMixer: boolean): Run {
  const clock = new FakeClock(0)
  const messages: ServerMessage[] = []
  const history = new ConversationHistory('Be brief.', 20)
  const llm = new GatedLLM()
  const mixer = withMixer ? new BackgroundMixer({ thinking: { pcm: new Int16Array(48_000).fill(THINKING), delayMs: 50, volume: 1 } }) : undefined
  const pipeline = new VoicePipeline({
    sessionId: 's',
    providers: { stt: new ScriptedSTT(['hello', 'wait']), llm, tts: new ScriptedTTS() },
    hooks: new HookRegistry(silentLogger),
    history,
    send: (m) => { messages.push(m) },
    takeAttachments: () => [],
    clock,
    log: silentLogger,
    turnOptions: DEFAULT_TURN_OPTIONS,
    streamingSTT: false,
    ...(mixer !== undefined ? { background: mixer } : {})
  })
  const output = new PacedAudioOutput({ clock, idleAfterMs: Infinity, onFrame: () => {} })
  const heard: Heard[] = []
  output.onFrame((pcm) => {
    let peak = 0
    for (const s of pcm) peak = Math.max(peak, Math.abs(s))
    heard.push(peak === 0 ? 'silence' : peak >= 2000 ? 'speech' : 'thinking')
  })
  pipeline.setTrackOutput(output)
  output.start()
  t.teardown(async () => { output.close(); await pipeline.close() })
  return { pipeline, output, clock, llm, messages, history, heard, mixer }
}

/** Lets the turn's promises run, 10 ms of output at a time, until `done` (or 5 s of output). */
async function play (r: Run, done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) {
    await new Promise(resolve => setImmediate(resolve))
    r.clock.advance(10)
  }
}

/** Lets `ms` of output play, 10 ms at a time, the turn's promises running in between. */
async function wait (r: Run, ms: number): Promise<void> {
  for (let i = 0; i < ms / 10; i++) {
    await new Promise(resolve => setImmediate(resolve))
    r.clock.advance(10)
  }
}

/** Runs of equal items, e.g. ['silence', 'thinking', 'speech', 'silence']. */
const runs = (heard: Heard[]): Heard[] => heard.filter((h, i) => h !== heard[i - 1])

t.test('a late answer is preceded by the thinking sound; history, tts-complete and played time are the same as without it', async t => {
  const results: Array<{ types: string[], history: unknown, playedMs: number, heard: Heard[] }> = []
  for (const withMixer of [false, true]) {
    const r = run(t, withMixer)
    say(r.pipeline)
    await wait(r, 200) // the LLM has not answered yet
    r.llm.open()
    await play(r, () => r.messages.some(m => m.type === 'tts-complete'))
    await r.pipeline.idle()
    results.push({ types: r.messages.map(m => m.type), history: r.history.messages, playedMs: r.output.playedMs, heard: r.heard })
    if (r.mixer !== undefined) t.equal(r.mixer.thinking, false, 'no longer wanted once the turn ended')
  }
  const [plain, mixed] = results as [typeof results[0], typeof results[0]]
  t.same(runs(plain.heard), ['silence', 'speech', 'silence'], 'without the sound: silence until the answer')
  t.same(runs(mixed.heard), ['silence', 'thinking', 'speech', 'silence'], 'with it: silence, the thinking sound, then the answer alone')
  t.ok(mixed.heard.filter(h => h === 'thinking').length >= 10, 'the sound filled the wait')
  t.same(mixed.types, plain.types, 'the same messages, one tts-complete')
  t.equal(mixed.types.filter(type => type === 'tts-complete').length, 1)
  t.same(mixed.history, plain.history, 'the same history')
  t.same(mixed.history, [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'Hi there, how can I help?' }])
  t.equal(mixed.playedMs, plain.playedMs, 'the same played time: the answer\'s audio only')
})

t.test('barge-in while the thinking sound plays stops it at once, and the cancelled turn adds no answer to the history', async t => {
  const r = run(t, true)
  say(r.pipeline)
  await wait(r, 200)
  t.equal(r.heard.at(-1), 'thinking', 'the sound plays while the LLM is late')
  const at = r.heard.length
  say(r.pipeline) // the user speaks again: the turn is interrupted
  await play(r, () => r.heard.length > at + 10)
  t.equal(r.mixer?.thinking, true, 'the new turn wants it again (it waits for its own delay)')
  t.ok(r.heard.slice(at + 1, at + 5).every(h => h === 'silence'), 'stopped within one frame of the barge-in')
  t.notOk(r.messages.some(m => m.type === 'tts-cancelled'), 'nothing of an answer was playing: no tts-cancelled')
  t.same(r.history.messages.filter(m => m.role === 'assistant'), [], 'no answer in the history')
  r.pipeline.cancelTurn()
  await r.pipeline.idle()
})
