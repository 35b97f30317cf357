import { spawnSync } from 'node:child_process'
import { Writable } from 'node:stream'
import t from 'tap'
import { ffmpegPath } from '../../lib/audio/ffmpeg-path.js'
import { AudioSink } from '../../lib/recording/audio-sink.js'

/** `ms` of interleaved stereo: a tone on the left, silence on the right. */
function stereo (ms: number, rateHz = 16_000): Buffer {
  const frames = ms * rateHz / 1000
  const out = Buffer.alloc(frames * 4)
  for (let i = 0; i < frames; i++) out.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / rateHz)), i * 4)
  return out
}

function collector (): { stream: Writable, bytes: () => Buffer } {
  const chunks: Buffer[] = []
  const stream = new Writable({ write (chunk: Buffer, _enc, cb) { chunks.push(chunk); cb() } })
  return { stream, bytes: () => Buffer.concat(chunks) }
}

t.test('wav: a streamed header, then the samples as they come', async t => {
  const { stream, bytes } = collector()
  const sink = new AudioSink(stream, { format: 'wav', sampleRateHz: 16_000, onError: (err) => { t.fail(String(err)) } })
  const pcm = stereo(100)
  sink.write(pcm)
  await sink.end()
  const out = bytes()
  t.equal(out.subarray(0, 4).toString('ascii'), 'RIFF')
  t.equal(out.readUInt16LE(22), 2, 'two channels')
  t.equal(out.readUInt32LE(24), 16_000)
  t.equal(out.readUInt32LE(40), 0xFFFFFFFF, 'a stream\'s data size is "unknown"')
  t.same(out.subarray(44), pcm)
})

t.test('ogg: Opus through ffmpeg, which decodes back to two channels with the tone on the left', async t => {
  const { stream, bytes } = collector()
  const sink = new AudioSink(stream, { format: 'ogg', sampleRateHz: 16_000, onError: (err) => { t.fail(String(err)) } })
  for (let i = 0; i < 10; i++) sink.write(stereo(100))
  await sink.end()
  const ogg = bytes()
  t.equal(ogg.subarray(0, 4).toString('ascii'), 'OggS')
  const decoded = spawnSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-f', 's16le', '-ac', '2', '-ar', '16000', 'pipe:1'], { input: ogg })
  const pcm = decoded.stdout
  let left = 0
  let right = 0
  for (let i = 0; i + 3 < pcm.length; i += 4) { left += Math.abs(pcm.readInt16LE(i)); right += Math.abs(pcm.readInt16LE(i + 2)) }
  t.ok(pcm.length / 4 / 16 > 900, 'about a second of audio')
  t.ok(left > 50 * right, `the tone is on the left (left ${left}, right ${right})`)
})

t.test('a stalled sink: audio past maxBufferedBytes is dropped, memory stays bounded, writes never block', async t => {
  // A destination that never finishes a write (an upload that hangs).
  const stalled = new Writable({ write () {} })
  const sink = new AudioSink(stalled, { format: 'wav', sampleRateHz: 16_000, maxBufferedBytes: 64 * 1024, onError: () => { t.fail('a slow sink is not an error') } })
  let peak = 0
  for (let i = 0; i < 600; i++) {
    sink.write(stereo(100))
    peak = Math.max(peak, sink.bufferedBytes)
  }
  t.ok(peak <= 64 * 1024 + 6400, `at most maxBufferedBytes (and one chunk) wait (peak ${peak})`)
  t.ok(sink.droppedBytes > 0, 'the rest was dropped and counted')
  t.equal(sink.receivedBytes, 600 * 6400)
  stalled.destroy()
})

t.test('a sink whose callback rejects is reported once, and later audio is dropped without throwing', async t => {
  const errors: Error[] = []
  const sink = new AudioSink(async () => { throw new Error('bucket gone') }, { format: 'wav', sampleRateHz: 16_000, onError: (err) => { errors.push(err) } })
  sink.write(stereo(100))
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(errors.length, 1)
  t.match(errors[0], { code: 'LLMRTC_ERR_RECORDING_SINK' })
  t.match((errors[0] as Error & { cause: Error }).cause.message, 'bucket gone', 'the cause is kept')
  t.ok(sink.failed)
  t.doesNotThrow(() => { for (let i = 0; i < 10; i++) sink.write(stereo(100)) })
  await sink.end()
  t.equal(errors.length, 1, 'reported once')
})

t.test('a stream that errors is reported; an Opus sink whose destination fails does not leave ffmpeg running', async t => {
  const errors: Error[] = []
  const failing = new Writable({ write (_chunk, _enc, cb) { cb(new Error('disk full')) } })
  const sink = new AudioSink(failing, { format: 'ogg', sampleRateHz: 16_000, onError: (err) => { errors.push(err) } })
  for (let i = 0; i < 20; i++) sink.write(stereo(100))
  const deadline = Date.now() + 5000
  while (errors.length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(errors.length, 1)
  t.match(errors[0], { code: 'LLMRTC_ERR_RECORDING_SINK' })
  await sink.end()
  t.pass('end() resolved')
})
