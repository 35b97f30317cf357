import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import { until } from '../../testing/wait.js'
import { defineTool } from '../../lib/tools/define-tool.js'
import { ScriptedLLM } from '../fakes/scripted-providers.js'
import { buildApp } from '../helpers/app.js'
import { listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// The thinking sound over a real WebRTC peer: heard while a slow tool runs, gone once the caller speaks
// again. Real speech (espeak-ng) through the server's VAD and interruption judge. Assertions are on what
// the client's track carried between protocol events, not on durations.
isolateNetwork()

/** A steady tone (440 Hz, peak 6000) stands for the thinking sound: any frame of it is easy to tell from silence. */
function tone (): Int16Array {
  return Int16Array.from({ length: 48_000 }, (_, i) => Math.round(6000 * Math.sin(2 * Math.PI * 440 * i / 48_000)))
}

t.test('a thinking sound is heard while a slow tool runs, and stops when the caller speaks over it', async t => {
  const dir = t.testdir({})
  const sound = join(dir, 'thinking.wav')
  await writeFile(sound, encodeWav(tone(), 48_000))
  const calls: string[] = []
  const slowLookup = defineTool({
    name: 'slow_lookup',
    description: 'Looks the order up (slowly)',
    parameters: { type: 'object', properties: {}, additionalProperties: false }
  }, async (_args, { signal }) => {
    calls.push('started')
    // Runs until the turn is cancelled.
    return await new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => { calls.push('aborted'); reject(signal.reason) }, { once: true })
    })
  })
  const llm = new ScriptedLLM([
    { chunks: [], toolCalls: [{ callId: 'call_1', name: 'slow_lookup', arguments: {} }] },
    ['Okay, I stopped.']
  ])
  const app = await buildApp(t, {
    providers: { llm },
    tools: [slowLookup],
    toolTimeoutMs: 60_000,
    backgroundAudio: { thinking: { sound, delayMs: 300 } }
  })
  const client = await voiceClient(t, await listenUrl(app))

  await say(client, 'Please look up my order.')
  await client.waitFor('tool-call-start', { timeoutMs: 15_000 })
  const toolFrame = client.audio.frames
  await client.audio.waitForSound(3000, 10_000, toolFrame)
  t.pass('the thinking sound reached the client\'s track while the tool ran')
  t.notOk(client.wsMessages.some(m => m.type === 'tts-start'), 'and no answer was speaking: it was the thinking sound')
  // It plays on while the tool runs: 20 loud frames (the caller speaks only then, so how soon the server
  // hears that speech does not decide how much of the sound came before it).
  const loudFrames = (from: number, to?: number): number => client.audio.peaks.slice(from, to).filter(peak => peak >= 3000).length
  await until(() => loudFrames(toolFrame) >= 20, 'the thinking sound playing on for 20 loud frames', 10_000)

  const mark = client.wsMessages.length
  const speaking = say(client, 'Stop, stop. Thank you.')
  await client.waitFor(m => m.type === 'speech-start', { from: mark, timeoutMs: 15_000 })
  const cutFrame = client.audio.frames
  await client.waitFor(m => m.type === 'speech-end', { from: mark, timeoutMs: 15_000 })
  const endFrame = client.audio.frames
  await speaking
  // A few frames of slack for what was already in the network and the client's jitter buffer.
  const after = client.audio.peaks.slice(cutFrame + 10, endFrame)
  t.ok(after.length >= 20, `the caller spoke on for a while after the barge-in (${after.length} frames)`)
  t.ok(after.every(peak => peak < 500), `silence once the caller barged in (loudest frame ${Math.max(...after)})`)
  t.ok(loudFrames(toolFrame, cutFrame) >= 20, 'while before it, the sound played on')
  t.same(calls, ['started', 'aborted'], 'the barge-in cancelled the slow tool')

  await client.waitFor(m => m.type === 'tts-complete', { from: mark, timeoutMs: 20_000 })
  const history = app.llmrtcSessions.get(client.sessionId)?.history.messages ?? []
  t.equal(history.at(-1)?.content, 'Okay, I stopped.', 'the next turn answers')
  t.notOk(history.some(m => m.role === 'assistant' && m.content.includes('thinking')), 'the sound is no part of any answer')
})
