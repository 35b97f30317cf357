import t from 'tap'
import type { ServerMessage } from '../../../lib/protocol/server-messages.js'
import { WebSocketAudioOutput } from '../../../lib/pipeline/websocket-audio-output.js'

function recorder (): { output: WebSocketAudioOutput, sent: ServerMessage[], marks: string[] } {
  const sent: ServerMessage[] = []
  const marks: string[] = []
  const output = new WebSocketAudioOutput(message => { sent.push(message) })
  output.onPlayed(mark => { marks.push(mark) })
  return { output, sent, marks }
}

/** The samples a `tts-chunk` carries. */
function samplesOf (message: ServerMessage | undefined): number[] {
  if (message?.type !== 'tts-chunk') throw new Error(`expected tts-chunk, got ${String(message?.type)}`)
  const bytes = Buffer.from(message.data, 'base64')
  return Array.from(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2))
}

t.test('each write is sent at once as a tts-chunk and counts as played', async t => {
  const { output, sent, marks } = recorder()
  output.write(Int16Array.of(1, -2, 3), 24_000, 'a')
  t.same(samplesOf(sent[0]), [1, -2, 3])
  t.match(sent[0], { type: 'tts-chunk', format: 'pcm', sampleRate: 24_000 })
  t.same(marks, ['a'])
  t.equal(output.playedMs, 0.125)
  t.equal(output.playing, false)
  t.equal(output.paused, false)
  await output.drain()
})

t.test('while paused, writes are held (encoded at once); resume sends them in order with their marks', async t => {
  const { output, sent, marks } = recorder()
  output.write(Int16Array.of(1), 16_000, 'before')
  output.pause()
  output.pause()
  t.equal(output.paused, true)
  const reused = Int16Array.of(2, 2)
  output.write(reused, 16_000, 'held-1')
  reused.fill(9) // the caller may reuse its buffer
  output.write(Int16Array.of(3, 3, 3), 16_000, 'held-2')
  t.equal(sent.length, 1, 'nothing sent while paused')
  t.same(marks, ['before'])
  t.equal(output.playedMs, 1 / 16, 'held audio does not count as played')
  t.equal(output.playing, true)
  let drained = false
  const done = output.drain().then(() => { drained = true })
  await Promise.resolve()
  t.equal(drained, false, 'drain waits for the held audio')
  output.resume()
  await done
  t.same(sent.slice(1).map(samplesOf), [[2, 2], [3, 3, 3]])
  t.same(marks, ['before', 'held-1', 'held-2'])
  t.equal(output.playedMs, 6 / 16)
  t.equal(output.paused, false)
  t.equal(output.playing, false)
  output.resume()
  t.equal(sent.length, 3, 'a second resume sends nothing again')
  output.write(Int16Array.of(4), 16_000)
  t.equal(sent.length, 4, 'after resume, writes go out at once')
})

t.test('clear drops the held chunks, returns their ms, settles drains and unpauses', async t => {
  const { output, sent, marks } = recorder()
  output.pause()
  output.write(new Int16Array(160), 16_000, 'dropped')
  const drained = output.drain()
  t.equal(output.clear(), 10)
  await drained
  t.equal(output.paused, false)
  output.resume()
  t.equal(sent.length, 0)
  t.same(marks, [])
  t.equal(output.clear(), 0)
  output.write(Int16Array.of(5), 16_000)
  t.equal(sent.length, 1, 'the next answer is sent at once')
})

t.test('onFrame taps each chunk as it is sent, held chunks when resume sends them', async t => {
  const { output, sent } = recorder()
  const tapped: Array<{ samples: number[], rateHz: number }> = []
  const off = output.onFrame((pcm, rateHz) => { tapped.push({ samples: Array.from(pcm), rateHz }) })
  output.write(Int16Array.of(1, 2), 24_000)
  output.pause()
  output.write(Int16Array.of(3), 16_000)
  t.same(tapped, [{ samples: [1, 2], rateHz: 24_000 }], 'a held chunk is not tapped')
  output.resume()
  t.same(tapped, [{ samples: [1, 2], rateHz: 24_000 }, { samples: [3], rateHz: 16_000 }], 'until it is sent')
  off()
  output.write(Int16Array.of(4), 16_000)
  t.equal(tapped.length, 2, 'unsubscribed')
  t.equal(sent.length, 3)
})
