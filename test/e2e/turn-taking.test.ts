import t from 'tap'
import { decodeWav } from '../../lib/audio/wav.js'
import type { LLMChunk, LLMProvider, LLMRequest, STTProvider, STTResult } from '../../lib/providers/types.js'
import { buildApp } from '../helpers/app.js'
import { listenUrl, voiceClient, withUnbrokenSpeech } from '../helpers/e2e.js'
import { concat, silence, synthesizeSpeech, trimSilence } from '../helpers/speech.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// Turn-taking over a real WebRTC peer with real speech (espeak-ng) through the server's Silero VAD.
// Assertions are on order and content, not durations (timings are in bench/turn-taking.ts).
isolateNetwork()

const LONG_ANSWER = 'Here is a rather long answer for you. It goes on for several sentences, so that there is time to speak over it. ' +
  'The third sentence keeps it going a while longer. And the fourth one brings it to its end.'

/** An LLM that streams `answers` in turn (the last one repeats), a few words at a time. */
function scriptedLLM (answers: string[]): LLMProvider & { requests: LLMRequest[] } {
  const requests: LLMRequest[] = []
  let call = 0
  return {
    name: 'e2e-llm',
    requests,
    async complete () { return { fullText: answers[0] ?? '' } },
    async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
      requests.push(request)
      const text = answers[Math.min(call++, answers.length - 1)] ?? ''
      for (const word of text.split(/(?<= )/)) {
        request.signal?.throwIfAborted()
        await new Promise(resolve => setTimeout(resolve, 5))
        yield { content: word, done: false }
      }
      yield { content: '', done: true }
    }
  }
}

/** An STT that answers by the utterance's length: the words said up to that point of a scripted sentence. */
function scriptedSTT (byLength: Array<[maxSeconds: number, text: string]>): STTProvider & { heard: string[] } {
  const heard: string[] = []
  return {
    name: 'e2e-stt',
    heard,
    async transcribe (audio: Buffer): Promise<STTResult> {
      const wav = decodeWav(audio)
      const seconds = wav.samples.length / wav.channels / wav.sampleRateHz
      const text = byLength.find(([max]) => seconds <= max)?.[1] ?? byLength.at(-1)?.[1] ?? ''
      heard.push(text)
      return { text, isFinal: true }
    }
  }
}

t.test('a blip during the answer pauses it, and the whole answer is heard', async t => {
  const { after, history, answers } = await withUnbrokenSpeech(t, async () => {
    const llm = scriptedLLM([LONG_ANSWER])
    // Like a real STT, the blip's short audio has no words ("ah" at most): a loaded machine's jitter
    // buffer can stretch it past minSpeechMs, and then its words decide.
    const app = await buildApp(t, { providers: { llm, stt: scriptedSTT([[0.8, 'ah'], [99, 'tell me something long']]) } })
    const client = await voiceClient(t, await listenUrl(app))
    await client.speak(concat(await synthesizeSpeech('Tell me something long, please.', 48_000), silence(900, 48_000)))
    await client.waitFor('tts-start', { timeoutMs: 15_000 })
    await client.audio.waitForSound(1000, 5000)
    const mark = client.wsMessages.length
    // 150 ms of an "ah": the VAD sees its onset, but it is too short to be confirmed as speech.
    const blip = trimSilence(await synthesizeSpeech('ah', 48_000)).subarray(0, 150 * 48)
    await client.speak(concat(blip, silence(300, 48_000)))
    await client.waitFor(m => m.type === 'tts-complete', { from: mark, timeoutMs: 30_000 })
    return {
      client,
      outcome: {
        after: client.wsMessages.slice(mark).map(m => m.type).filter(type => type !== 'metrics'),
        history: app.llmrtcSessions.get(client.sessionId)?.history.messages ?? [],
        answers: client.wsMessages.filter(m => m.type === 'llm').length
      }
    }
  })
  t.same(after, ['tts-paused', 'tts-resumed', 'tts-complete'], 'paused at the onset, resumed, played to the end')
  t.same(history.map(m => m.content), ['tell me something long', LONG_ANSWER], 'the whole answer was heard, and no turn for the blip')
  t.equal(answers, 1, 'one answer')
})

t.test('a real interruption silences the answer at once and a new turn follows', async t => {
  const { after, quiet, history } = await withUnbrokenSpeech(t, async () => {
    const llm = scriptedLLM([LONG_ANSWER, 'Sure, stopping.'])
    const stt = scriptedSTT([[3.5, 'tell me something long'], [99, 'stop please I have another question']])
    const app = await buildApp(t, { providers: { llm, stt } })
    const client = await voiceClient(t, await listenUrl(app))
    await client.speak(concat(await synthesizeSpeech('Tell me something long.', 48_000), silence(900, 48_000)))
    await client.waitFor('tts-start', { timeoutMs: 15_000 })
    await client.audio.waitForSound(1000, 5000)
    const mark = client.wsMessages.length
    // The frame the client's track had reached when `tts-paused` arrived (-1: it never did).
    const pausedAtFrame = client.waitFor('tts-paused', { from: mark, timeoutMs: 15_000 }).then(() => client.audio.frames, () => -1)
    await client.speak(concat(await synthesizeSpeech('Stop please I have another question about something else entirely.', 48_000), silence(1200, 48_000)))
    await client.waitFor(m => m.type === 'tts-complete', { from: mark, timeoutMs: 30_000 })
    const pausedAt = await pausedAtFrame
    const types = client.wsMessages.slice(mark).map(m => m.type)
    return {
      client,
      // The words are continuous: an answer that resumed before the cancel means the server heard a gap.
      heardGap: types.includes('tts-resumed') && types.indexOf('tts-resumed') < types.indexOf('tts-cancelled'),
      outcome: {
        after: client.wsMessages.slice(mark).map(m => m.type).filter(type => type !== 'metrics' && type !== 'llm-chunk'),
        // From 250 ms after the pause reached the client (its jitter buffer drained) to 600 ms, while the
        // user still spoke, the client's track carried silence.
        quiet: pausedAt < 0 ? [] : client.audio.peaks.slice(pausedAt + 25, pausedAt + 60),
        history: app.llmrtcSessions.get(client.sessionId)?.history.messages ?? []
      }
    }
  })
  t.same(after.slice(0, 3), ['tts-paused', 'tts-cancelled', 'speech-start'], 'paused at the onset, then cancelled by the words')
  t.same(after.slice(3), ['speech-end', 'transcript', 'tts-start', 'llm', 'tts-complete'], 'then the new turn')
  t.ok(quiet.length === 35 && quiet.every(peak => peak < 1000), 'the track went silent while the user spoke')
  t.equal(history.length, 4)
  t.ok((history[1]?.content.length ?? Infinity) < LONG_ANSWER.length, 'only what was heard of the interrupted answer')
  t.equal(history[2]?.content, 'stop please I have another question')
})

t.test('a sentence with a pause in the middle is one turn, not two', async t => {
  const { types, transcripts, lastRequest, history, heard } = await withUnbrokenSpeech(t, async () => {
    const llm = scriptedLLM(['A table for four, at what time?'])
    const stt = scriptedSTT([[2.4, 'I would like to book a table for'], [99, 'I would like to book a table for four people']])
    const app = await buildApp(t, { providers: { llm, stt } })
    const client = await voiceClient(t, await listenUrl(app))
    const first = await synthesizeSpeech('I would like to book a table for', 48_000)
    const second = await synthesizeSpeech('four people.', 48_000)
    await client.speak(concat(trimSilence(first), silence(800, 48_000), trimSilence(second), silence(2000, 48_000)))
    await client.waitFor('tts-complete', { timeoutMs: 20_000 })
    return {
      client,
      outcome: {
        types: client.wsMessages.map(m => m.type),
        transcripts: client.wsMessages.filter(m => m.type === 'transcript').map(m => (m as { text: string }).text),
        lastRequest: llm.requests.at(-1)?.messages.at(-1)?.content,
        history: app.llmrtcSessions.get(client.sessionId)?.history.messages ?? [],
        heard: stt.heard
      }
    }
  })
  t.equal(types.filter(type => type === 'speech-end').length, 1, 'one end of speech')
  t.same(transcripts, ['I would like to book a table for four people'])
  // A speculative answer to the first words may have been started in the pause, and thrown away.
  t.equal(lastRequest, 'I would like to book a table for four people', 'the answer is to all the words')
  t.equal(types.filter(type => type === 'llm').length, 1, 'one answer')
  t.same(history.map(m => m.content), ['I would like to book a table for four people', 'A table for four, at what time?'])
  t.ok(heard.includes('I would like to book a table for'), 'the words of the pause were judged unfinished')
})
