import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { decodeWav, encodeWav } from '../../lib/audio/wav.js'
import { resample } from '../../lib/audio/resampler.js'
import { BUILTIN_ASSISTANT_PHRASES } from '../../lib/providers/builtin/rule-based-llm.js'
import { EspeakTTS, findExecutable, hasPocketsphinxModel, isLocalUrl, normalizePhrase, phrasesToJsgf, PocketsphinxSTT, WavStreamReader } from '../../lib/providers/local/index.js'
import { sttConformance, ttsConformance } from '../helpers/provider-conformance.js'
import { synthesizeSpeech } from '../helpers/speech.js'
import { scratchDir } from '../helpers/scratch-dir.js'

// Needs Debian's espeak-ng, pocketsphinx and pocketsphinx-en-us (.ci/run installs them).

/**
 * A stand-in binary: a shell script `body`, in which $PIDFILE is where to record its pid (with `exec
 * sleep` the pid stays the same) so a test can check that an abort killed it.
 */
function fakeBinary (name: string, body: string): { binary: string, pid: () => number } {
  const dir = scratchDir()
  const pidFile = join(dir, 'pid')
  const binary = join(dir, name)
  writeFileSync(binary, `#!/bin/sh\nPIDFILE="${pidFile}"\n${body}\n`)
  chmodSync(binary, 0o755)
  return { binary, pid: () => Number(readFileSync(pidFile, 'utf8')) }
}

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function peak (pcm: Buffer): number {
  let max = 0
  for (let i = 0; i + 1 < pcm.length; i += 2) max = Math.max(max, Math.abs(pcm.readInt16LE(i)))
  return max
}

t.test('espeak-ng passes the TTS conformance suite, streaming 22050 Hz speech', async t => {
  const tts = new EspeakTTS()
  await ttsConformance(t, tts)
  t.equal(tts.pcmSampleRate, 22050)
  const wav = await tts.speak('Hello there.')
  t.equal(wav.format, 'wav')
  t.equal(decodeWav(wav.audio).sampleRateHz, 22050)
  const pcm = await tts.speak('Hello there.', { format: 'pcm' })
  t.same({ format: pcm.format, rate: pcm.sampleRate }, { format: 'pcm', rate: 22050 })
  t.ok(peak(pcm.audio) > 1000, 'it is not silent')
  t.same(await tts.speak('   ', { format: 'pcm' }), { audio: Buffer.alloc(0), format: 'pcm', sampleRate: 22050 }, 'blank text is no audio, without a process')
})

t.test('espeak-ng speaks what it is told, at the rate and voice it is given', async t => {
  const text = 'The quick brown fox jumps over the lazy dog.'
  const slow = (await new EspeakTTS({ rateWpm: 120 }).speak(text, { format: 'pcm' })).audio.length
  const fast = (await new EspeakTTS({ rateWpm: 300 }).speak(text, { format: 'pcm' })).audio.length
  t.ok(fast < slow * 0.7, `300 wpm is shorter than 120 wpm (${fast} < ${slow} bytes)`)
  const doubled = (await new EspeakTTS({ rateWpm: 150 }).speak(text, { format: 'pcm', speed: 2 })).audio.length
  t.ok(doubled < slow * 0.7, 'TTSConfig.speed multiplies the rate')
  const british = await new EspeakTTS({ voice: 'en-gb', pitch: 20 }).speak(text, { format: 'pcm' })
  t.ok(peak(british.audio) > 1000, 'another voice and pitch speak too')
  const stt = new PocketsphinxSTT({ phrases: ['what time is it', 'hello there'] })
  t.teardown(() => stt.close())
  const spoken = await new EspeakTTS().speak('What time is it?')
  t.equal((await stt.transcribe(spoken.audio)).text, 'what time is it', 'a recognizer hears the words')
  t.throws(() => new EspeakTTS({ rateWpm: 1000 }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /"rateWpm": expected a number from 80 to 450, instead got 1000/ })
})

t.test('an aborted or abandoned espeak-ng stream kills the process', async t => {
  const dir = scratchDir()
  const wav = join(dir, 'speech.wav')
  writeFileSync(wav, encodeWav(new Int16Array(2205).fill(3000), 22050))
  // Answers init()'s probe (the text "a") at once; for any other text, speaks and then hangs.
  const body = `text=$(cat)\n[ "$text" = "a" ] && exec cat "${wav}"\necho $$ > "$PIDFILE"\ncat "${wav}"\nexec sleep 600`
  for (const how of ['abort', 'return'] as const) {
    const fake = fakeBinary('espeak-ng', body)
    const tts = new EspeakTTS({ binary: fake.binary })
    await tts.init()
    const controller = new AbortController()
    const stream = tts.speakStream('Hello there.', { signal: controller.signal })[Symbol.asyncIterator]()
    const first = await stream.next()
    t.ok(first.done !== true && peak(first.value) === 3000, `${how}: the first PCM arrived`)
    const pid = fake.pid()
    t.ok(isRunning(pid), `${how}: espeak-ng is still running`)
    if (how === 'abort') {
      controller.abort()
      t.same(await stream.next(), { done: true, value: undefined }, 'the aborted stream ends quietly')
    } else {
      await stream.return?.(undefined)
    }
    t.notOk(isRunning(pid), `${how}: the process was killed and reaped`)
  }
})

t.test('espeak-ng errors are clear: not installed, unknown voice, a failed run', async t => {
  await t.rejects(new EspeakTTS({ binary: '/nonexistent/espeak-ng' }).init(), {
    code: 'LLMRTC_ERR_PROVIDER_INIT',
    message: /espeak-ng was not found \(\/nonexistent\/espeak-ng\): install it \(Debian\/Ubuntu: apt-get install espeak-ng/
  })
  await t.rejects(new EspeakTTS({ voice: 'nosuchvoice' }).init(), { code: 'LLMRTC_ERR_PROVIDER_INIT', message: /exited with code 1: .*voice does not exist/ })
  const broken = fakeBinary('espeak-ng', 'cat > /dev/null\necho "out of memory" >&2\nexit 3')
  await t.rejects(new EspeakTTS({ binary: broken.binary }).init(), { code: 'LLMRTC_ERR_PROVIDER_INIT', message: /espeak-ng exited with code 3: out of memory/ })
  const dir = scratchDir()
  const wav = join(dir, 'speech.wav')
  writeFileSync(wav, encodeWav(new Int16Array(100), 22050))
  const flaky = fakeBinary('espeak-ng', `text=$(cat)\ncat "${wav}"\n[ "$text" = "a" ] && exit 0\necho "synthesis failed" >&2\nexit 2`)
  const tts = new EspeakTTS({ binary: flaky.binary })
  await t.rejects(tts.speak('Hello.'), { code: 'LLMRTC_ERR_TTS', message: /"espeak-tts" failed: espeak-ng exited with code 2: synthesis failed/ })
  const stereo = fakeBinary('espeak-ng', 'cat > /dev/null\nprintf \'RIFF\\044\\000\\000\\000WAVEfmt \\020\\000\\000\\000\\001\\000\\002\\000\\042\\126\\000\\000\\210\\130\\001\\000\\004\\000\\020\\000data\\000\\000\\000\\000\'')
  await t.rejects(new EspeakTTS({ binary: stereo.binary }).speak('Hi.'), { code: 'LLMRTC_ERR_TTS', message: /2 channel\(s\) at 22050 Hz, expected mono/ })
})

t.test('the WAV stream reader finds PCM after a header split anywhere, on whole samples', async t => {
  const samples = Int16Array.from([1, -2, 300, -400, 5000, -6000])
  const wav = encodeWav(samples, 22050)
  for (const cut of [1, 3, 11, 20, 37, 44, 45, 47]) {
    const reader = new WavStreamReader()
    const parts = [reader.push(wav.subarray(0, cut)), reader.push(wav.subarray(cut, cut + 3)), reader.push(wav.subarray(cut + 3))]
    const pcm = Buffer.concat(parts)
    t.same(Array.from(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2)), Array.from(samples), `cut at byte ${cut}`)
    t.ok(parts.every(p => p.length % 2 === 0), 'every piece holds whole samples')
  }
  t.same(new WavStreamReader().push(wav.subarray(0, 8)).length, 0, 'nothing before the header is complete')
  t.throws(() => new WavStreamReader().push(Buffer.from('ID3 not a wave file')), { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT' })
  const float = Buffer.from(wav)
  float.writeUInt16LE(3, 20)
  t.throws(() => new WavStreamReader().push(float), { code: 'LLMRTC_ERR_AUDIO_INVALID_FORMAT', message: /16-bit PCM/ })
  const noFormat = Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEdata\0\0\0\0', 'latin1')])
  t.throws(() => new WavStreamReader().push(noFormat), { message: /data chunk before fmt chunk/ })
})

t.test('pocketsphinx with a grammar passes the STT conformance suite on espeak-ng speech', async t => {
  const stt = new PocketsphinxSTT({ phrases: ['What time is it?', 'Hello there.', 'Repeat after me, the cat sat on the mat.'] })
  t.teardown(() => stt.close())
  await sttConformance(t, stt, await synthesizeSpeech('What time is it?'), /^what time is it$/)
  t.equal(stt.grammar, true)
})

t.test('pocketsphinx with the built-in assistant\'s phrases recognizes them, and says when nothing matched', async t => {
  const stt = new PocketsphinxSTT({ phrases: BUILTIN_ASSISTANT_PHRASES, describeNoMatch: true })
  t.teardown(() => stt.close())
  const cases: Array<[string, string]> = [
    ['Repeat after me, the cat sat on the mat.', 'repeat after me the cat sat on the mat'],
    ['Hello there. What can you do?', 'hello there what can you do'],
    ['How do I configure a real model?', 'how do i configure a real model'],
    ['What day is it today?', 'what day is it today']
  ]
  for (const [spoken, expected] of cases) {
    t.equal((await stt.transcribe(encodeWav(await synthesizeSpeech(spoken), 16000))).text, expected, spoken)
  }
  const stereo48k = resample(await synthesizeSpeech('Good morning'), 16000, 48000)
  const interleaved = new Int16Array(stereo48k.length * 2)
  stereo48k.forEach((s, i) => { interleaved[2 * i] = s; interleaved[2 * i + 1] = s })
  t.equal((await stt.transcribe(encodeWav(interleaved, 48000, 2))).text, 'good morning', 'a 48 kHz stereo WAV is converted first')
  // A grammar maps speech to its closest phrase: much unrelated speech is "heard" as some phrase, not this.
  t.match((await stt.transcribe(encodeWav(await synthesizeSpeech('The weather in Paris is lovely in the spring'), 16000))).text,
    /^I heard \d\.\d seconds of speech, but it matched none of the phrases I listen for\.$/)
  t.same(await stt.transcribe(encodeWav(new Int16Array(0), 16000)), { text: '', isFinal: true }, 'no audio, no run')
  const quiet = new PocketsphinxSTT({ phrases: ['what time is it'] })
  t.teardown(() => quiet.close())
  t.equal((await quiet.transcribe(encodeWav(await synthesizeSpeech('The weather in Paris is lovely in the spring'), 16000))).text, '', 'without describeNoMatch: empty')
})

t.test('pocketsphinx takes a JSGF grammar as text or as a file, or listens with open vocabulary', async t => {
  const speech = encodeWav(await synthesizeSpeech('Close the door.'), 16000)
  const jsgf = '#JSGF V1.0;\ngrammar home;\npublic <command> = (open | close) the door | turn on the lights;\n'
  const fromText = new PocketsphinxSTT({ grammar: jsgf })
  t.teardown(() => fromText.close())
  t.equal((await fromText.transcribe(speech)).text, 'close the door')
  const dir = scratchDir()
  writeFileSync(join(dir, 'home.gram'), jsgf)
  const fromFile = new PocketsphinxSTT({ grammarFile: join(dir, 'home.gram') })
  t.teardown(() => fromFile.close())
  t.equal((await fromFile.transcribe(speech)).text, 'close the door')
  const open = new PocketsphinxSTT()
  t.teardown(() => open.close())
  t.equal(open.grammar, false)
  t.type((await open.transcribe(speech)).text, 'string', 'open vocabulary gives some text (inaccurate on synthetic speech)')
  t.throws(() => new PocketsphinxSTT({ phrases: ['a'], grammar: jsgf }), { code: 'LLMRTC_ERR_OPTIONS_INVALID' })
  t.throws(() => new PocketsphinxSTT({ phrases: ['...', ' '] }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /at least one phrase/ })
})

t.test('pocketsphinx errors are clear: not installed, unknown words, a broken grammar, a failed run', async t => {
  await t.rejects(new PocketsphinxSTT({ binary: '/nonexistent/pocketsphinx_continuous' }).init(), {
    code: 'LLMRTC_ERR_PROVIDER_INIT',
    message: /pocketsphinx was not found .*apt-get install pocketsphinx pocketsphinx-en-us/
  })
  await t.rejects(new PocketsphinxSTT({ phrases: ['open the zorblax'] }).init(), { code: 'LLMRTC_ERR_PROVIDER_INIT', message: /not in the pronunciation dictionary: zorblax$/ })
  await t.rejects(new PocketsphinxSTT({ grammar: '#JSGF V1.0;\ngrammar g;\npublic <a> = frumious bandersnatch;\n' }).init(), {
    code: 'LLMRTC_ERR_PROVIDER_INIT',
    message: /exited with code 1: .*'frumious' is missing in the dictionary/
  })
  const broken = fakeBinary('pocketsphinx_continuous', 'size=$(wc -c < "$2")\n[ "$size" -le 3200 ] && exit 0\necho \'INFO: x.c(1): loading\' >&2\necho \'ERROR: "x.c", line 1: out of memory\' >&2\nexit 1')
  const stt = new PocketsphinxSTT({ binary: broken.binary })
  t.teardown(() => stt.close())
  await t.rejects(stt.transcribe(encodeWav(await synthesizeSpeech('hello'), 16000)), { code: 'LLMRTC_ERR_STT', message: /"pocketsphinx-stt" failed: pocketsphinx exited with code 1: out of memory/ })
})

t.test('an aborted pocketsphinx run is killed and the call rejects with the abort', async t => {
  // Answers init()'s run on 0.1 s of silence (3200 bytes) at once; hangs on anything longer.
  const fake = fakeBinary('pocketsphinx_continuous', 'size=$(wc -c < "$2")\n[ "$size" -le 3200 ] && exit 0\necho $$ > "$PIDFILE"\nexec sleep 600')
  const stt = new PocketsphinxSTT({ binary: fake.binary, phrases: ['hello'], dictionary: '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict' })
  await stt.init()
  const controller = new AbortController()
  const pending = stt.transcribe(encodeWav(await synthesizeSpeech('hello'), 16000), { signal: controller.signal })
  let pid = 0
  while (pid === 0) {
    await new Promise(resolve => setImmediate(resolve))
    try { pid = fake.pid() } catch {}
  }
  t.ok(isRunning(pid), 'pocketsphinx is running')
  controller.abort()
  await t.rejects(pending, { name: 'AbortError' })
  t.notOk(isRunning(pid), 'the process was killed and reaped')
  await stt.close()
  await stt.close()
  t.pass('close() is idempotent')
})

t.test('the local binaries are found on a PATH, with the pocketsphinx model beside them', async t => {
  const espeak = findExecutable('espeak-ng', process.env.PATH)
  t.match(espeak, /\/espeak-ng$/)
  t.equal(findExecutable('espeak-ng', '/nonexistent:relative/dir:'), undefined)
  t.equal(findExecutable('espeak-ng', undefined), undefined)
  t.equal(findExecutable(espeak ?? '', undefined), espeak, 'a path is checked as is')
  const plain = join(scratchDir(), 'espeak-ng')
  writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 })
  t.equal(findExecutable(plain, undefined), undefined, 'a file that is not executable is not found')
  const pocketsphinx = findExecutable('pocketsphinx_continuous', process.env.PATH) ?? ''
  t.equal(hasPocketsphinxModel(pocketsphinx), true)
  t.equal(hasPocketsphinxModel(espeak ?? ''), existsSync('/usr/share/pocketsphinx/model/en-us/en-us/mdef'), 'judged by the install prefix')
  t.equal(hasPocketsphinxModel('/nonexistent/bin/pocketsphinx'), false)
})

t.test('phrases become a JSGF grammar of one or two phrases, spelled as the dictionary spells words', async t => {
  t.equal(normalizePhrase('  Repeat after me, the CAT sat -- on the mat!'), 'repeat after me the cat sat on the mat')
  t.equal(normalizePhrase("What's 'the' time?"), "what's the time")
  t.equal(phrasesToJsgf(['Hello there.', 'hello there', 'What time is it?', '!!']), [
    '#JSGF V1.0;',
    'grammar llmrtc;',
    '<phrase> = hello there | what time is it;',
    'public <utterance> = <phrase> [<phrase>];',
    ''
  ].join('\n'))
})

t.test('a base URL is local for loopback, private and local-network hosts only', async t => {
  const local = ['http://127.0.0.1:11434/v1', 'http://localhost:1234/v1', 'http://LOCALHOST/v1', 'http://[::1]:8000/v1', 'http://[::ffff:127.0.0.1]/v1',
    'http://10.0.0.5:8000/v1', 'http://172.20.1.1/v1', 'http://192.168.1.20:11434/v1', 'http://169.254.0.9/', 'http://[fd12::1]/', 'http://[fe80::1]/',
    'http://ollama:11434/v1', 'http://gpu-box.local:8000/v1', 'http://host.docker.internal:11434/v1', 'http://llm.lan/', 'http://a.localhost/', 'http://0.0.0.0:8000/']
  const remote = [undefined, 'not a url', 'https://api.openai.com/v1', 'https://openrouter.ai/api/v1', 'http://8.8.8.8/', 'http://172.32.0.1/', 'http://[2001:db8::1]/',
    'http://[::ffff:8.8.8.8]/', 'http://example.com./', 'http://192.169.1.1/']
  for (const url of local) t.equal(isLocalUrl(url), true, `${String(url)} is local`)
  for (const url of remote) t.equal(isLocalUrl(url), false, `${String(url)} is not local`)
})
