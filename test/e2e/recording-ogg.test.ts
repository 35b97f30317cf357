import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { RuleBasedLLM } from '../../lib/providers/builtin/index.js'
import type { SessionTranscript, TranscriptAssistantTurn, TranscriptTurn } from '../../lib/recording/transcript-types.js'
import { buildApp } from '../helpers/app.js'
import { BLOCK_MS, decodeRecording, loudShare, timelines, turnSpans } from '../helpers/channel-energy.js'
import { listenUrl, say, voiceClient, withUnbrokenSpeech } from '../helpers/e2e.js'
import { scratchDir } from '../helpers/scratch-dir.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// The recording plugin with `format: 'ogg'` on a real call over a real WebRTC peer (espeak-ng speech on its
// microphone): the file it streamed through ffmpeg is a whole Ogg/Opus stream, decoded here by ffmpeg, whose
// channels hold each side's speech where the transcript says.
isolateNetwork()

t.test('a call recorded as Ogg/Opus: a whole stereo Opus stream of the call\'s length, the user on the left, the answer on the right', async t => {
  // A stall of this process's microphone would cut the user's words in two: such a run is run again.
  const { client, transcript, directory } = await withUnbrokenSpeech(t, async () => {
    const directory = scratchDir()
    let ended!: (transcript: SessionTranscript) => void
    const transcriptDone = new Promise<SessionTranscript>(resolve => { ended = resolve })
    const app = await buildApp(t, {
      providers: { llm: new RuleBasedLLM({ wordDelayMs: 10 }) },
      recording: { directory, format: 'ogg' },
      hooks: { onSessionEnd: (_id, transcript) => { ended(transcript) } }
    })
    const client = await voiceClient(t, await listenUrl(app))
    await say(client, 'Hello, what can you do for me?', 900)
    await client.waitFor('tts-complete', { timeoutMs: 20_000 })
    // A second of quiet after the answer, then the session ends.
    await new Promise(resolve => setTimeout(resolve, 1000))
    const session = app.llmrtcSessions.get(client.sessionId)
    if (session === undefined) throw new Error('no session')
    app.llmrtcSessions.end(session, 'closed')
    return { client, outcome: { client, transcript: await transcriptDone, directory } }
  })

  t.match(transcript.turns.map((turn: TranscriptTurn) => turn.speaker), ['user', 'assistant'], 'one exchange')
  const [user, answer] = transcript.turns as [TranscriptTurn, TranscriptAssistantTurn]
  t.match(answer, { interrupted: false, outcome: 'completed' })
  const file = transcript.recording?.file ?? ''
  t.equal(file, join(directory, `${client.sessionId}.ogg`), 'the file is <sessionId>.ogg in the directory')
  t.match(transcript.recording, { format: 'ogg', sampleRateHz: 16_000, channels: ['user', 'assistant'], droppedMs: 0 })
  t.notOk(transcript.recording?.failed, 'the encoder did not fail')
  t.same(JSON.parse(readFileSync(join(directory, `${client.sessionId}.json`), 'utf8')), transcript, 'the transcript is stored beside the recording')

  const bytes = readFileSync(file)
  t.equal(bytes.subarray(0, 4).toString('latin1'), 'OggS', 'an Ogg stream')
  t.ok(bytes.includes('OpusHead'), 'of Opus')
  const decoded = decodeRecording(file)
  t.equal(decoded.status, 0, 'ffmpeg decodes the whole file')
  t.notMatch(decoded.log, /error|invalid|corrupt/i, 'without a decoding error')
  t.match(decoded.log, /Audio: opus, 48000 Hz, stereo/, 'Opus, stereo, decoded at 48 kHz')
  const { left, right } = decoded
  const fileMs = left.length * BLOCK_MS
  // Opus codes 20 ms frames: the last one is padded.
  t.ok(Math.abs(fileMs - (transcript.recording?.durationMs ?? 0)) <= 3 * BLOCK_MS, `the file holds the recorded duration (${fileMs} ms, ${transcript.recording?.durationMs ?? 0} ms recorded)`)
  // The recording runs from its first frame to the session's end (and frames that came in ahead of the
  // clock, bounded: the recorder holds 2 s).
  const callMs = transcript.endedAt - (transcript.recording?.startedAt ?? 0)
  const recordedMs = transcript.recording?.durationMs ?? 0
  t.ok(recordedMs >= callMs - 2 * BLOCK_MS && recordedMs <= callMs + 2000, `the recording covers the call (${recordedMs} ms recorded, ${callMs} ms from its first frame to the end)`)

  const [[us, ue], [as, ae]] = turnSpans([user, answer])
  t.comment(`user ${us}-${ue}, answer ${as}-${ae}, file ${fileMs} ms`)
  t.comment(timelines(left, right))
  t.ok(loudShare(left, us, ue) > 0.3, `left: the user's words at ${us}-${ue} ms`)
  t.ok(loudShare(left, as + 200, ae - 200) < 0.05, 'left: quiet while the answer played')
  t.ok(loudShare(right, us, ue) < 0.05, 'right: quiet while the user spoke')
  t.ok(loudShare(right, as, ae) > 0.4, `right: the answer at ${as}-${ae} ms`)
  t.ok(loudShare(right, ae + 300, fileMs) < 0.05, 'right: quiet after the answer')
})
