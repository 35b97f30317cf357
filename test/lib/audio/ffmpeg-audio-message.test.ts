import { spawnSync } from 'node:child_process'
import t from 'tap'
import { ffmpegPath } from '../../../lib/audio/ffmpeg-path.js'
import { encodeWav } from '../../../lib/audio/wav.js'
import { buildApp } from '../../helpers/app.js'
import { synthesizeSpeech } from '../../helpers/speech.js'
import { connect } from '../../helpers/ws-client.js'

// The WebSocket `audio` path (plugins/pipeline/audio-message.ts) with compressed utterances, decoded by
// ffmpeg before the turn runs. The built-in STT reports how long the utterance it got was.

function encode (wav: Buffer, args: string[]): Buffer {
  const result = spawnSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', ...args, 'pipe:1'], { input: wav })
  if (result.status !== 0) throw new Error(result.stderr.toString())
  return result.stdout
}

const speech = await synthesizeSpeech('Hello there, how are you?', 16_000)
const wav = encodeWav(speech, 16_000)
const seconds = (speech.length / 16_000).toFixed(1)
/** How long a turn on ffmpeg-decoded audio may take to arrive, in ms. */
const DECODE_WAIT_MS = 30_000

t.test('a WebM/Opus utterance sent as an audio message runs a turn', async t => {
  const app = await buildApp(t, { webrtc: false })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: encode(wav, ['-c:a', 'libopus', '-f', 'webm']).toString('base64') })
  // ffmpeg decodes for real: more room than the recorder's default 5 s.
  await client.next('tts-complete', 0, DECODE_WAIT_MS)
  const types = client.messages.map(m => m.type as string)
  t.same(types.filter(x => x !== 'tts-chunk' && x !== 'llm-chunk' && x !== 'metrics'), ['ready', 'transcript', 'tts-start', 'llm', 'tts-complete'])
  t.match(client.messages.find(m => m.type === 'transcript'), { text: new RegExp(`I heard ${seconds} seconds`) }, 'the STT got the whole utterance')
  t.ok(client.messages.some(m => m.type === 'tts-chunk'))
  client.ws.terminate()
})

t.test('MP3, Ogg/Opus and float WAV utterances run turns in the order they were sent', async t => {
  const app = await buildApp(t, { webrtc: false })
  const client = await connect(app)
  await client.next('ready')
  const mp3 = encode(wav, ['-c:a', 'libmp3lame', '-f', 'mp3'])
  const ogg = encode(encodeWav(speech.subarray(0, 16_000), 16_000), ['-c:a', 'libopus', '-f', 'ogg'])
  const floatWav = encode(wav, ['-c:a', 'pcm_f32le', '-ar', '48000', '-f', 'wav'])
  client.send({ type: 'audio', data: `data:audio/mpeg;base64,${mp3.toString('base64')}` })
  // Its turn has ended (metrics come last, after tts-complete): the Ogg's turn starts as soon as it is
  // decoded, and reaches its transcript before the WAV, decoded after it, interrupts it.
  await client.next('metrics', 0, DECODE_WAIT_MS)
  client.send({ type: 'audio', data: ogg.toString('base64') })
  client.send({ type: 'audio', data: floatWav.toString('base64') })
  await t.resolves(async () => {
    for (let seen = 0; seen < 3;) {
      await client.next('metrics', client.messages.findLastIndex(m => m.type === 'metrics') + 1, DECODE_WAIT_MS)
      seen = client.messages.filter(m => m.type === 'metrics').length
    }
  })
  const heard = client.messages.filter(m => m.type === 'transcript').map(m => Number(/I heard (\d+\.\d)/.exec(m.text as string)?.[1]))
  const expected = [Number(seconds), 1, Number(seconds)]
  t.equal(heard.length, 3, `three transcripts: ${heard.join(', ')} s`)
  // Within 0.15 s: a codec pads the audio a little (MP3's encoder delay).
  t.ok(heard.every((s, i) => Math.abs(s - (expected[i] as number)) <= 0.15), `each utterance, whole, in order: ${heard.join(', ')} s`)
  client.ws.terminate()
})

t.test('a flood of compressed utterances runs one ffmpeg at a time, and decodes the newest of those waiting', async t => {
  const app = await buildApp(t, { webrtc: false, maxMessagesPerSecond: 0 })
  const client = await connect(app)
  await client.next('ready')
  const ogg = (ms: number): string => encode(encodeWav(speech.subarray(0, 16 * ms), 16_000), ['-c:a', 'libopus', '-f', 'ogg']).toString('base64')
  const [short, long] = [ogg(500), ogg(1000)]
  let ffmpegs = 0
  const watch = setInterval(() => { ffmpegs = Math.max(ffmpegs, process.getActiveResourcesInfo().filter(type => type === 'ProcessWrap').length) }, 1)
  t.teardown(() => { clearInterval(watch) })
  // Nineteen short utterances, then a long one.
  for (let i = 0; i < 20; i++) client.send({ type: 'audio', data: i === 19 ? long : short })
  const heard = (): number[] => client.messages.filter(m => m.type === 'transcript').map(m => Number(/I heard (\d+\.\d)/.exec(m.text as string)?.[1]))
  while (!heard().some(s => s > 0.8)) await client.next('transcript', client.messages.length, DECODE_WAIT_MS)
  clearInterval(watch)
  t.equal(ffmpegs, 1, 'never more than one ffmpeg at a time')
  t.ok(heard().length <= 2, `the first (decoding when the others came) and the newest only: ${heard().join(', ')} s`)
  client.ws.terminate()
})

t.test('undecodable audio gets INVALID_AUDIO_FORMAT; non-audio never reaches ffmpeg', async t => {
  const app = await buildApp(t, { webrtc: false })
  const client = await connect(app)
  await client.next('ready')
  client.send({ type: 'audio', data: Buffer.concat([Buffer.from('OggS'), Buffer.alloc(400, 7)]).toString('base64') })
  t.match(await client.next('error'), { code: 'INVALID_AUDIO_FORMAT', message: /ogg audio could not be decoded/ })
  client.send({ type: 'audio', data: Buffer.from('not audio at all').toString('base64') })
  t.match(await client.next('error', client.messages.length), { code: 'INVALID_AUDIO_FORMAT', message: /expected WAV, WebM, Ogg, MP3 or FLAC/ })
  client.send({ type: 'audio', data: '!!!' })
  t.match(await client.next('error', client.messages.length), { code: 'INVALID_AUDIO_FORMAT', message: /not base64/ })
  t.notOk(client.messages.some(m => m.type === 'transcript'), 'no turn ran')
  client.ws.terminate()
})
