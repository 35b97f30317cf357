import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { decodeWav, encodeWav } from '../../lib/audio/wav.js'
import { buildApp } from '../helpers/app.js'
import { concat, silence, synthesizeSpeech } from '../helpers/speech.js'
import { ScriptedLLM, ScriptedSTT, ScriptedTTS } from '../fakes/scripted-providers.js'

const run = promisify(execFile)

for (const signaling of [false, true]) {
  t.test(`examples/device-client.mjs${signaling ? ' --signaling' : ''} holds a turn: a WAV question in, the spoken answer written to a WAV`, async t => {
    const llm = new ScriptedLLM([['It is nine in the morning.']])
    const stt = new ScriptedSTT(['What time is it?'])
    const app = await buildApp(t, { webrtc: false, providers: { llm, stt, tts: new ScriptedTTS() }, device: {} })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const address = app.server.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    const dir = await mkdtemp(join(tmpdir(), 'llmrtc-device-client-'))
    t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
    const question = join(dir, 'question.wav')
    const answer = join(dir, 'answer.wav')
    await writeFile(question, encodeWav(concat(silence(300), await synthesizeSpeech('What time is it?', 16000)), 16000))

    const args = signaling ? ['--signaling', `ws://127.0.0.1:${address.port}/`] : [`ws://127.0.0.1:${address.port}/device`]
    const { stdout } = await run(process.execPath, ['examples/device-client.mjs', ...args, question, answer], { timeout: 30_000 })
    t.match(stdout, /you said: What time is it\?/, 'the client printed the transcript')
    t.match(stdout, /It is nine in the morning\./, 'and the answer text')
    const wav = decodeWav(await readFile(answer))
    t.equal(wav.sampleRateHz, 16000)
    t.ok(wav.samples.length > 16000 * 0.2, `the answer's audio was written (${wav.samples.length} samples)`)
    t.ok(wav.samples.some(sample => Math.abs(sample) > 1000), 'and it is not silence')
    t.match(llm.requests[0]?.messages.at(-1), { role: 'user', content: 'What time is it?' })
  })
}
