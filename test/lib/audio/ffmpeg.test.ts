import { spawnSync, type ChildProcess } from 'node:child_process'
import t from 'tap'
import { decodeAudio, decodeAudioStream, detectAudioFormat } from '../../../lib/audio/ffmpeg.js'
import { ffmpegPath } from '../../../lib/audio/ffmpeg-path.js'
import { encodeWav } from '../../../lib/audio/wav.js'
import { protocolCodeOf } from '../../../lib/errors.js'
import { noise, synthesizeSpeech } from '../../helpers/speech.js'

// Fixtures are made now: espeak-ng speech, encoded by the same ffmpeg binary the code decodes with.
function encode (wav: Buffer, args: string[]): Buffer {
  const result = spawnSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', ...args, 'pipe:1'], { input: wav, maxBuffer: 64 << 20 })
  if (result.status !== 0) throw new Error(`ffmpeg could not encode the fixture: ${result.stderr.toString()}`)
  return result.stdout
}

const speech = await synthesizeSpeech('Hello there, this is a test of compressed audio.', 16_000)
const wav = encodeWav(speech, 16_000)
const speechMs = speech.length / 16
const fixtures = {
  mp3: encode(wav, ['-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3']),
  ogg: encode(wav, ['-c:a', 'libopus', '-f', 'ogg']),
  webm: encode(wav, ['-c:a', 'libopus', '-f', 'webm']),
  flac: encode(wav, ['-c:a', 'flac', '-f', 'flac']),
  floatWav: encode(wav, ['-c:a', 'pcm_f32le', '-ar', '8000', '-f', 'wav'])
}

function peak (samples: Int16Array): number {
  let max = 0
  for (const s of samples) max = Math.max(max, Math.abs(s))
  return max
}

/** Whether the process is gone (reaped: a zombie would still answer signal 0). */
function gone (pid: number | undefined): boolean {
  try {
    process.kill(pid as number, 0)
    return false
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH'
  }
}

/** The chunks of `bytes`, then nothing more, ever (an open-ended upload). */
async function * endless (bytes: Buffer, size = 1024): AsyncIterable<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
  await new Promise(() => {})
}

t.test('the container is told from its first bytes', async t => {
  t.equal(detectAudioFormat(fixtures.mp3), 'mp3')
  t.equal(detectAudioFormat(fixtures.ogg), 'ogg')
  t.equal(detectAudioFormat(fixtures.webm), 'webm')
  t.equal(detectAudioFormat(fixtures.flac), 'flac')
  t.equal(detectAudioFormat(fixtures.floatWav), 'wav')
  t.equal(detectAudioFormat(Buffer.from([0xFF, 0xFB, 0x90, 0x00])), 'mp3', 'an MP3 without an ID3 tag')
  t.equal(detectAudioFormat(Buffer.from('not audio at all')), undefined)
  t.equal(detectAudioFormat(Buffer.alloc(2)), undefined)
})

t.test('MP3, Ogg/Opus, WebM/Opus, FLAC and float WAV decode to 16-bit mono at the chosen rate', async t => {
  for (const [name, bytes] of Object.entries(fixtures)) {
    const samples = await decodeAudio(bytes, { sampleRateHz: 16_000 })
    const ms = samples.length / 16
    t.ok(Math.abs(ms - speechMs) < 120, `${name}: ${ms.toFixed(0)} ms of the ${speechMs.toFixed(0)} ms spoken`)
    t.ok(peak(samples) > 3000, `${name}: not silent`)
  }
  const at24k = await decodeAudio(fixtures.ogg, { sampleRateHz: 24_000 })
  t.ok(Math.abs(at24k.length / 24 - speechMs) < 120, 'resampled to 24 kHz')
})

t.test('a stream decodes as it arrives: samples come out before the input ended', async t => {
  let sent = 0
  async function * slowly (): AsyncIterable<Buffer> {
    for (let i = 0; i < fixtures.webm.length; i += 1024) {
      sent = i + 1024
      yield fixtures.webm.subarray(i, i + 1024)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
  }
  let samples = 0
  let sentAtFirstOutput: number | undefined
  let outputs = 0
  for await (const chunk of decodeAudioStream(slowly(), { sampleRateHz: 16_000 })) {
    sentAtFirstOutput ??= sent
    samples += chunk.length
    outputs++
  }
  t.ok(outputs > 1, `${outputs} outputs`)
  t.ok((sentAtFirstOutput ?? Infinity) < fixtures.webm.length, `first samples after ${sentAtFirstOutput} of ${fixtures.webm.length} bytes`)
  t.ok(Math.abs(samples / 16 - speechMs) < 120, 'all of it')
})

t.test('an abort kills ffmpeg, which is reaped, and the stream ends quietly', async t => {
  const controller = new AbortController()
  let child: ChildProcess | undefined
  let outputs = 0
  for await (const _samples of decodeAudioStream(endless(fixtures.ogg), { signal: controller.signal, onSpawn: c => { child = c } })) {
    outputs++
    controller.abort()
  }
  t.equal(outputs, 1)
  t.equal(child?.signalCode, 'SIGKILL', 'ffmpeg was killed')
  t.ok(gone(child?.pid), 'and reaped (no zombie)')

  const oneShot = new AbortController()
  let second: ChildProcess | undefined
  const decoding = decodeAudio(fixtures.mp3, { signal: oneShot.signal, onSpawn: c => { second = c; oneShot.abort() } })
  await t.rejects(decoding, { name: 'AbortError' }, 'the one-shot decode rejects with the abort reason')
  t.ok(second !== undefined && gone(second.pid), 'its ffmpeg is gone too')
  await t.rejects(decodeAudio(fixtures.mp3, { signal: AbortSignal.abort() }), { name: 'AbortError' })
})

t.test('stopping the iteration early kills ffmpeg', async t => {
  let child: ChildProcess | undefined
  for await (const _samples of decodeAudioStream(endless(fixtures.mp3), { onSpawn: c => { child = c } })) break
  t.ok(gone(child?.pid))
})

t.test('garbage is INVALID_AUDIO_FORMAT, with ffmpeg\'s complaint kept as the cause', async t => {
  let child: ChildProcess | undefined
  const error = await decodeAudio(Buffer.from(noise(200).buffer), { onSpawn: c => { child = c } }).then(() => undefined, (e: unknown) => e)
  t.match(error, { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT', message: /could not be decoded \(ffmpeg exited with code 1\)/ })
  t.match((error as Error).cause, { code: 1, stderr: /./ })
  t.equal(protocolCodeOf(error), 'INVALID_AUDIO_FORMAT')
  t.ok(gone(child?.pid))
  const truncated = Buffer.concat([fixtures.ogg.subarray(0, 60), Buffer.from(noise(100).buffer)])
  await t.rejects(decodeAudio(truncated), { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' }, 'a broken Ogg too')
})

t.test('audio longer than allowed is refused, and ffmpeg stopped', async t => {
  let child: ChildProcess | undefined
  await t.rejects(decodeAudio(fixtures.ogg, { maxDurationMs: 500, onSpawn: c => { child = c } }), { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT', message: /longer than 500 ms/ })
  t.ok(gone(child?.pid))
})

t.test('a missing ffmpeg is AUDIO_PROCESSING_ERROR', async t => {
  const error = await decodeAudio(fixtures.mp3, { ffmpegPath: '/nonexistent/ffmpeg' }).then(() => undefined, (e: unknown) => e)
  t.match(error, { code: 'LLMRTC_ERR_AUDIO_PROCESSING', message: /ffmpeg could not be started \(ENOENT\)/ })
  t.equal(protocolCodeOf(error), 'AUDIO_PROCESSING_ERROR')
})

t.test('the binary comes from @ffmpeg-installer/ffmpeg, and nothing in is nothing out', async t => {
  t.match(ffmpegPath(), /@ffmpeg-installer/)
  const out = []
  for await (const samples of decodeAudioStream((async function * () {})())) out.push(samples)
  t.same(out, [])
})
