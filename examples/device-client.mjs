// A device client for llmrtc's device audio WebSocket (docs/protocol.md, "Device audio over WebSocket").
// Sends a WAV file (16 kHz mono 16-bit) as pcm16 frames in real time, then a second of silence so the
// server's VAD ends the turn, acknowledges marks as a device that played them, and writes the spoken
// answer to a WAV when `tts-complete` arrives.
//   node examples/device-client.mjs ws://localhost:3000/device question.wav answer.wav
// With --signaling, the same over the signaling WebSocket itself (`audio-stream-start` after `ready`):
//   node examples/device-client.mjs --signaling ws://localhost:3000/ question.wav answer.wav
// (Make a question: espeak-ng -w q.wav "What time is it?" && sox q.wav -r 16000 -c 1 -b 16 question.wav)
import { readFileSync, writeFileSync } from 'node:fs'
import WebSocket from 'ws'

const args = process.argv.slice(2)
const signaling = args[0] === '--signaling'
const [url, input, output = 'answer.wav'] = signaling ? args.slice(1) : args
if (url === undefined || input === undefined) {
  console.error('usage: node examples/device-client.mjs [--signaling] <ws-url> <question.wav> [answer.wav]')
  process.exit(2)
}
const RATE = 16000
const FRAME_BYTES = RATE / 50 * 2 // 20 ms of s16le

/** The PCM of a 16 kHz mono 16-bit WAV. */
function readWav (file) {
  const wav = readFileSync(file)
  if (wav.toString('ascii', 0, 4) !== 'RIFF') throw new Error(`${file} is not a WAV file`)
  let pcm
  for (let at = 12; at + 8 <= wav.length;) {
    const id = wav.toString('ascii', at, at + 4)
    const size = wav.readUInt32LE(at + 4)
    if (id === 'fmt ' && (wav.readUInt16LE(at + 10) !== 1 || wav.readUInt32LE(at + 12) !== RATE || wav.readUInt16LE(at + 22) !== 16)) {
      throw new Error(`${file} must be 16 kHz mono 16-bit (sox in.wav -r 16000 -c 1 -b 16 out.wav)`)
    }
    if (id === 'data') pcm = wav.subarray(at + 8, at + 8 + size)
    at += 8 + size + (size % 2)
  }
  if (pcm === undefined) throw new Error(`${file} has no data chunk`)
  return pcm
}

function wavOf (pcm) {
  const header = Buffer.alloc(44)
  header.write('RIFF', 0); header.writeUInt32LE(36 + pcm.length, 4); header.write('WAVEfmt ', 8)
  header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22)
  header.writeUInt32LE(RATE, 24); header.writeUInt32LE(RATE * 2, 28); header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34); header.write('data', 36); header.writeUInt32LE(pcm.length, 40)
  return Buffer.concat([header, pcm])
}

const question = Buffer.concat([readWav(input), Buffer.alloc(RATE * 2)])
const answer = []
const socket = new WebSocket(url)

// The device socket takes `start` at once; the signaling socket says `ready` first.
socket.on('open', () => { if (!signaling) socket.send(JSON.stringify({ type: 'start', codec: 'pcm16', sampleRate: RATE })) })
socket.on('message', async (data, isBinary) => {
  if (isBinary) {
    answer.push(data)
    return
  }
  const message = JSON.parse(data.toString())
  if (message.type === 'mark') socket.send(JSON.stringify({ type: 'played', mark: message.mark }))
  else if (message.type === 'transcript' && message.isFinal) console.log('you said:', message.text)
  else if (message.type === 'llm-chunk' && message.done !== true) process.stdout.write(message.content)
  else if (message.type === 'error') console.error('error:', message.code, message.message)
  else if (message.type === 'ready' && signaling) {
    console.log('session', message.id)
    socket.send(JSON.stringify({ type: 'audio-stream-start', codec: 'pcm16', sampleRate: RATE }))
  } else if (message.type === (signaling ? 'audio-stream-started' : 'ready')) {
    if (!signaling) console.log('session', message.id)
    // Real time: one 20 ms frame every 20 ms, as a microphone would.
    const started = Date.now()
    for (let at = 0, n = 1; at < question.length; at += FRAME_BYTES, n++) {
      socket.send(question.subarray(at, at + FRAME_BYTES))
      await new Promise(resolve => setTimeout(resolve, Math.max(0, started + n * 20 - Date.now())))
    }
  } else if (message.type === 'tts-complete') {
    writeFileSync(output, wavOf(Buffer.concat(answer)))
    console.log(`\nanswer written to ${output}`)
    if (signaling) socket.close(1000)
    else socket.send(JSON.stringify({ type: 'stop' }))
  }
})
socket.on('close', (code, reason) => { if (code !== 1000) console.error('closed', code, reason.toString()) })
