import { Decoder, Encoder } from '@evan/opus'
import t from 'tap'
import type { AudioFrame } from '../../lib/audio/audio-frame.js'
import { createDeviceCodec, type DeviceCodecName } from '../../lib/device/device-codec.js'
import { DeviceMedia } from '../../lib/device/device-media.js'
import type { DeviceServerControl } from '../../lib/device/device-protocol.js'
import { FakeClock } from '../helpers/fake-clock.js'

function deviceMedia (codec: DeviceCodecName, rate: number): { media: DeviceMedia, audio: Uint8Array[], controls: DeviceServerControl[], clock: FakeClock } {
  const audio: Uint8Array[] = []
  const controls: DeviceServerControl[] = []
  const clock = new FakeClock()
  const media = new DeviceMedia({ codec: createDeviceCodec(codec, rate), sendAudio: (frame) => { audio.push(frame.slice()) }, sendControl: (message) => { controls.push(message) }, clock })
  media.start()
  return { media, audio, controls, clock }
}

function tone (ms: number, rate: number): Int16Array {
  const out = new Int16Array(ms * rate / 1000)
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / rate))
  return out
}

t.test('inbound Opus packets become 10 ms frames at the codec rate', async t => {
  const { media } = deviceMedia('opus', 16000)
  const encoder = new Encoder({ channels: 1, sample_rate: 16000, application: 'voip' })
  const frames: number[] = []
  media.onAudio((frame: AudioFrame) => { frames.push(frame.samplesPerChannel * 1000 + frame.sampleRateHz / 1000) })
  const pcm = tone(60, 16000)
  for (let i = 0; i < pcm.length; i += 320) media.receiveAudio(encoder.encode(pcm.subarray(i, i + 320)))
  t.equal(frames.length, 6, 'three 20 ms packets: six 10 ms frames')
  t.ok(frames.every(f => f === 160 * 1000 + 16), '160 samples at 16 kHz each')
  t.throws(() => { createDeviceCodec('pcm16', 16000).decode(new Uint8Array(3)) }, RangeError, 'pcm16 refuses half a sample')
  media.close()
})

t.test('outbound: paced 20 ms Opus packets, a mark after the marked chunk, played only when acknowledged, clear on barge-in', async t => {
  const { media, audio, controls, clock } = deviceMedia('opus', 48000)
  const played: string[] = []
  media.onPlayed((mark) => { played.push(mark) })
  clock.advance(100)
  t.equal(audio.length, 0, 'nothing queued: nothing sent')
  media.write(tone(200, 16000), 16000, 'sentence-1')
  clock.advance(100)
  t.ok(audio.length >= 4 && audio.length <= 6, `paced in real time: about 5 packets after 100 ms (${audio.length})`)
  clock.advance(200)
  const decoder = new Decoder({ channels: 1, sample_rate: 48000 })
  const samples = audio.reduce((n, packet) => n + decoder.decode(packet).length / 2, 0)
  t.equal(samples % 960, 0, 'every packet is 20 ms')
  t.ok(samples >= 9600 && samples <= 10560, `200 ms sent (${samples} samples)`)
  const mark = controls.find(m => m.type === 'mark')
  t.ok(mark !== undefined, 'a mark follows the audio')
  t.same(played, [], 'not played until the device says so')
  t.ok(media.playing, 'still playing while the mark is out')
  let drained = false
  void media.drain().then(() => { drained = true })
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(drained, 'drain waits for the acknowledgement')
  media.receivePlayed(mark?.type === 'mark' ? mark.mark : '')
  await new Promise(resolve => setImmediate(resolve))
  t.same(played, ['sentence-1'], 'played once acknowledged')
  t.ok(drained, 'and drain resolves')

  media.write(tone(500, 16000), 16000, 'sentence-2')
  clock.advance(100)
  const dropped = media.clear()
  t.ok(dropped > 300, `clear drops the unplayed rest (${dropped} ms)`)
  t.same(controls.at(-1), { type: 'clear' }, 'and tells the device to drop its buffer')
  const sent = audio.length
  clock.advance(200)
  t.equal(audio.length, sent, 'nothing more is sent')
  media.close()
})
