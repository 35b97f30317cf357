import t from 'tap'
import { decodeWav } from '../../lib/audio/wav.js'
import type { STTProvider } from '../../lib/providers/types.js'
import { until } from '../../testing/wait.js'
import { buildApp } from '../helpers/app.js'
import { expectVoiceTurn, listenUrl, voiceClient } from '../helpers/e2e.js'
import { atLevel, noiseFixture, rms } from '../helpers/noise-fixtures.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// Speech in fan noise over a real WebRTC peer, with noiseSuppression on: RNNoise sits before the VAD,
// and the STT receives the denoised utterance. Every packet stays on 127.0.0.1.
isolateNetwork()

t.test('with noise suppression on, a turn spoken in fan noise works and the STT gets the denoised audio', async t => {
  const heard: Buffer[] = []
  const stt: STTProvider = {
    name: 'capture',
    transcribe: async (audio) => {
      heard.push(audio)
      return { text: 'Hello there, what time is it?', isFinal: true }
    }
  }
  // The stub answers the whole sentence for any part of it, so the turn detector would take any pause a
  // loaded machine puts in the received audio for the end of a complete question and split the turn (the
  // fresh-clone CI of d920d96 did, 3 STT calls). What is tested here is the denoising: the fixed
  // end-of-speech wait, with no transcription of pauses.
  const app = await buildApp(t, { noiseSuppression: true, streamingSTT: false, turnDetection: false, preemptive: false, providers: { stt } })
  const rnnoise = app.llmrtcVad.rnnoise
  if (rnnoise === undefined) throw new Error('RNNoise did not load')
  const client = await voiceClient(t, await listenUrl(app))
  await until(() => rnnoise.liveStates === 1, 'the session\'s denoise state', 10_000)

  const speech = atLevel(await synthesizeSpeech('Hello there what time is it right now?', 48_000), -20)
  const clean = concat(silence(1000, 48_000), speech, silence(1500, 48_000))
  const fan = await noiseFixture('fan', 60, -30)
  const noisy = clean.map((s, i) => Math.max(-32768, Math.min(32767, s + (fan[i] as number))))
  await client.speak(noisy)
  await expectVoiceTurn(t, client)

  t.equal(heard.length, 1, 'one utterance reached the STT')
  const utterance = decodeWav(heard[0] as Buffer)
  // Between words and after the last one, the utterance holds fan noise alone: its quietest 50 ms show
  // the noise floor the STT gets. Without RNNoise that is the fan at about the level sent (Opus keeps it).
  const window = utterance.sampleRateHz / 20
  let floor = Infinity
  for (let at = 0; at + window <= utterance.samples.length; at += window) floor = Math.min(floor, rms(utterance.samples.subarray(at, at + window)))
  t.ok(floor < rms(fan) / 10, `the fan is at least 20 dB down in the STT's audio (RMS ${Math.round(rms(fan))} sent, floor ${Math.round(floor)} heard)`)
  t.ok(rms(utterance.samples) > 300, 'the speech itself is there')

  client.close()
  await until(() => rnnoise.liveStates === 0, 'the session\'s denoise state freed when its media closed', 10_000)
  t.pass('no denoise state is left behind')
})
