import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { RuleBasedLLM } from '../../lib/providers/builtin/index.js'
import type { SessionTranscript, TranscriptAssistantTurn, TranscriptTurn } from '../../lib/recording/transcript-types.js'
import { buildApp } from '../helpers/app.js'
import { BLOCK_MS, decodeRecording, loudShare, timelines, turnSpans } from '../helpers/channel-energy.js'
import { listenUrl, say, voiceClient } from '../helpers/e2e.js'
import { scratchDir } from '../helpers/scratch-dir.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// A real call over a real WebRTC peer (espeak-ng speech on its microphone), recorded to a file: the file is
// decoded with ffmpeg and each channel's energy checked against the transcript's times.
isolateNetwork()

const RATE = 16_000

t.test('a call recorded to a file: the user\'s speech on the left, the answers (the cut one cut) on the right, with its transcript', async t => {
  const directory = scratchDir()
  let ended!: (transcript: SessionTranscript) => void
  const transcriptDone = new Promise<SessionTranscript>(resolve => { ended = resolve })
  // A slow, long answer, so the user can interrupt it while it plays.
  const llm = new RuleBasedLLM({ wordDelayMs: 30 })
  const app = await buildApp(t, { providers: { llm }, recording: { directory, format: 'wav' }, hooks: { onSessionEnd: (_id, transcript) => { ended(transcript) } } })
  const client = await voiceClient(t, await listenUrl(app))
  await say(client, 'Hello, what can you do for me?', 900)
  await client.waitFor('tts-start', { timeoutMs: 15_000 })
  await client.audio.waitForSound(1000, 5000)
  // Let a second of the answer play, then interrupt it.
  await new Promise(resolve => setTimeout(resolve, 1000))
  const mark = client.wsMessages.length
  await say(client, 'Stop, stop. Thank you.')
  await client.waitFor(m => m.type === 'tts-complete', { from: mark, timeoutMs: 20_000 })
  t.ok(client.wsMessages.slice(mark).some(m => m.type === 'tts-cancelled'), 'the first answer was cut')
  // Two seconds of quiet after the last answer, then the session ends.
  await new Promise(resolve => setTimeout(resolve, 2000))
  const session = app.llmrtcSessions.get(client.sessionId)
  if (session === undefined) throw new Error('no session')
  app.llmrtcSessions.end(session, 'closed')
  const transcript = await transcriptDone

  t.match(transcript.turns.map((turn: TranscriptTurn) => turn.speaker), ['user', 'assistant', 'user', 'assistant'], 'two exchanges')
  const [user1, answer1, user2, answer2] = transcript.turns as [TranscriptTurn, TranscriptAssistantTurn, TranscriptTurn, TranscriptAssistantTurn]
  t.match(user1, { text: /I heard \d\.\d seconds of speech/ })
  t.match(answer1, { interrupted: true, outcome: 'cancelled', heard: String })
  t.ok((answer1.heard ?? '').length > 0 && (answer1.heard ?? '').length < answer1.text.length, `the heard part is a part of the answer (${answer1.heard ?? ''})`)
  t.equal(answer1.heard, session.history.messages[1]?.content, 'it is what the history kept')
  t.match(answer2, { interrupted: false, outcome: 'completed', latency: { firstAudioOutMs: Number, totalMs: Number } })
  const file = transcript.recording?.file ?? ''
  t.equal(file, join(directory, `${client.sessionId}.wav`))
  t.match(transcript.recording, { format: 'wav', sampleRateHz: RATE, channels: ['user', 'assistant'], droppedMs: 0 })
  t.same(JSON.parse(readFileSync(join(directory, `${client.sessionId}.json`), 'utf8')), transcript, 'the transcript is stored beside the recording')

  const wav = readFileSync(file)
  t.equal(wav.readUInt32LE(40), wav.length - 44, 'the file\'s WAV header has its real size')
  const { left, right } = decodeRecording(file, RATE)
  t.ok(Math.abs(left.length * BLOCK_MS - (transcript.recording?.durationMs ?? 0)) <= BLOCK_MS, 'the file holds the recorded duration')
  const [[u1s, u1e], [a1s, a1e], [u2s, u2e], [a2s, a2e]] = turnSpans([user1, answer1, user2, answer2])
  t.comment(`user ${u1s}-${u1e}, answer ${a1s}-${a1e} (cut), user ${u2s}-${u2e}, answer ${a2s}-${a2e}, file ${left.length * BLOCK_MS} ms`)
  t.comment(timelines(left, right))
  // The user's side: speech where the user spoke, quiet while the last answer played.
  t.ok(loudShare(left, u1s, u1e) > 0.3, `left: the user's first words at ${u1s}-${u1e} ms`)
  t.ok(loudShare(left, u2s, u2e) > 0.3, `left: the user's second words at ${u2s}-${u2e} ms`)
  t.ok(loudShare(left, a2s + 200, a2e - 200) < 0.05, 'left: quiet while the last answer played')
  // The assistant's side: quiet while the user first spoke, each answer where it played.
  t.ok(loudShare(right, u1s, u1e) < 0.05, 'right: quiet while the user first spoke')
  // The first answer plays until the user starts to interrupt; from then its speech is paused (silent for the
  // user, so in the file) until the barge-in is decided and it is cut.
  t.ok(loudShare(right, a1s, Math.min(a1e, u2s)) > 0.4, `right: the first answer at ${a1s}-${Math.min(a1e, u2s)} ms`)
  t.ok(loudShare(right, a2s, a2e) > 0.4, `right: the second answer at ${a2s}-${a2e} ms`)
  // What was cut never played, so it is not in the recording: quiet from the cut to the next answer.
  t.ok(loudShare(right, a1e + 300, a2s - 100) < 0.05, 'right: quiet from the cut to the next answer')
  t.ok(loudShare(right, a2e + 300, left.length * BLOCK_MS) < 0.05, 'right: quiet after the last answer')
})
