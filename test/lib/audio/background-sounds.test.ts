import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { resolveBackgroundAudio, type BackgroundAudioOptions } from '../../../lib/audio/background-options.js'
import { generateChime, generateRoomTone, loadBackgroundSounds, soundsForSession } from '../../../lib/audio/background-sounds.js'
import { chooseAgent, type AgentChoice, type AgentRequest } from '../../../lib/agent/agent-choice.js'
import { ToolRegistry } from '../../../lib/tools/tool-registry.js'
import { encodeWav } from '../../../lib/audio/wav.js'

const dbfs = (value: number): number => 20 * Math.log10(value / 32767)

t.test('backgroundAudio is off unless a sound is asked for, and true takes the defaults', async t => {
  t.equal(resolveBackgroundAudio(undefined), undefined)
  t.equal(resolveBackgroundAudio(false), undefined)
  t.equal(resolveBackgroundAudio({}), undefined)
  t.equal(resolveBackgroundAudio({ thinking: false, ambient: false }), undefined)
  t.same(resolveBackgroundAudio({ thinking: true }), { thinking: { sound: 'chime', delayMs: 1000, volume: 1 }, ambient: undefined })
  t.same(resolveBackgroundAudio({ ambient: { volume: 0.5 } }), { thinking: undefined, ambient: { sound: 'room-tone', volume: 0.5, duckTo: 0.3 } })
  t.same(resolveBackgroundAudio({ thinking: { sound: '/x/typing.mp3', delayMs: 0, volume: 0 } })?.thinking, { sound: '/x/typing.mp3', delayMs: 0, volume: 0 })
})

t.test('bad backgroundAudio options are refused with the option named', async t => {
  const bad: Array<[unknown, RegExp]> = [
    ['yes', /"backgroundAudio": expected an object/],
    [{ thinking: 'loud' }, /"backgroundAudio.thinking": expected an object, true or false/],
    [{ music: true }, /"backgroundAudio.music"/],
    [{ thinking: { delay: 5 } }, /"backgroundAudio.thinking.delay": expected one of sound, delayMs, volume/],
    [{ thinking: { delayMs: -1 } }, /"backgroundAudio.thinking.delayMs": expected an integer >= 0, instead got -1/],
    [{ thinking: { volume: 2 } }, /"backgroundAudio.thinking.volume": expected a number from 0 to 1, instead got 2/],
    [{ ambient: { duckTo: Number.NaN } }, /"backgroundAudio.ambient.duckTo"/],
    [{ ambient: { sound: '' } }, /"backgroundAudio.ambient.sound": expected "room-tone" or the path of an audio file/]
  ]
  for (const [options, message] of bad) {
    t.throws(() => resolveBackgroundAudio(options as BackgroundAudioOptions), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message }, JSON.stringify(options))
  }
})

t.test('the generated chime is soft, short and loops on silence', async t => {
  const chime = generateChime()
  t.equal(chime.length, 48_000 * 1.6)
  const peak = chime.reduce((max, s) => Math.max(max, Math.abs(s)), 0)
  t.ok(Math.abs(dbfs(peak) + 24) < 0.5, `peaks at -24 dBFS (${dbfs(peak).toFixed(1)})`)
  t.equal(chime[0], 0)
  t.ok(chime.subarray(48_000 * 0.4).every(s => s === 0), 'silence after the two notes, up to the loop point')
})

t.test('the generated room tone is quiet, the same every time, and has no step at its loop point', async t => {
  const tone = generateRoomTone()
  t.same(generateRoomTone(), tone, 'deterministic')
  let energy = 0
  for (const s of tone) energy += s * s
  t.ok(Math.abs(dbfs(Math.sqrt(energy / tone.length)) + 45) < 0.5, 'RMS -45 dBFS')
  let largestStep = 0
  for (let i = 1; i < tone.length; i++) largestStep = Math.max(largestStep, Math.abs((tone[i] as number) - (tone[i - 1] as number)))
  const seam = Math.abs((tone[0] as number) - (tone[tone.length - 1] as number))
  t.ok(seam <= largestStep, `the loop point steps no more than the sound itself (${seam} vs ${largestStep})`)
})

t.test('sound files are decoded by ffmpeg once, to 48 kHz; a bad file fails with the option named', async t => {
  const dir = t.testdir({})
  const wav = join(dir, 'typing.wav')
  await writeFile(wav, encodeWav(new Int16Array(1600).fill(1000), 16_000)) // 100 ms
  const sounds = await loadBackgroundSounds(resolveBackgroundAudio({ thinking: { sound: wav, delayMs: 300, volume: 0.4 }, ambient: true }) ?? t.fail('resolved') as never)
  t.equal(sounds.thinking?.pcm.length, 4800, '100 ms at 48 kHz')
  t.ok(Math.abs((sounds.thinking?.pcm[2400] ?? 0) - 1000) < 20)
  t.match(sounds.thinking, { delayMs: 300, volume: 0.4 })
  t.equal(sounds.ambient?.pcm.length, 48_000 * 4, 'the generated room tone')

  const garbage = join(dir, 'garbage.mp3')
  await writeFile(garbage, Buffer.from('not audio at all'))
  await t.rejects(loadBackgroundSounds({ thinking: { sound: garbage, delayMs: 0, volume: 1 }, ambient: undefined }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"backgroundAudio.thinking.sound": expected an audio file ffmpeg decodes/ })
  await t.rejects(loadBackgroundSounds({ thinking: undefined, ambient: { sound: join(dir, 'missing.wav'), volume: 1, duckTo: 0 } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"backgroundAudio.ambient.sound": expected a readable audio file/ })
})

t.test('a session takes the server\'s sounds, none, or those it did not turn off (agentForSession backgroundAudio)', async t => {
  const thinking = { pcm: new Int16Array(1), delayMs: 0, volume: 1 }
  const ambient = { pcm: new Int16Array(1), volume: 1, duckTo: 0 }
  const server = { thinking, ambient }
  t.equal(soundsForSession(server, undefined), server)
  t.equal(soundsForSession(server, true), server)
  t.equal(soundsForSession(server, false), undefined)
  t.same(soundsForSession(server, { ambient: false }), { thinking })
  t.same(soundsForSession(server, { thinking: false }), { ambient })
  t.equal(soundsForSession({ thinking }, { thinking: false }), undefined, 'nothing left: no mixer')
  t.equal(soundsForSession(undefined, true), undefined, 'the server has none to give')
})

t.test('agentForSession\'s backgroundAudio is checked', async t => {
  const request = {} as AgentRequest
  const choose = async (backgroundAudio: unknown): Promise<unknown> => await chooseAgent(() => ({ backgroundAudio } as AgentChoice), request, new ToolRegistry([]), undefined)
  t.match(await choose({ ambient: false }), { backgroundAudio: { ambient: false } })
  t.match(await choose(false), { backgroundAudio: false })
  for (const bad of ['off', { music: true }, { thinking: 'no' }, null]) {
    await t.rejects(choose(bad), { code: 'LLMRTC_ERR_AGENT_SELECTION', message: /invalid backgroundAudio: expected a boolean or \{ thinking\?: boolean, ambient\?: boolean \}/ }, JSON.stringify(bad))
  }
})
