import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runEval } from '../../bin/eval.js'
import { scratchDir } from '../helpers/scratch-dir.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// Audio mode over the real WebRTC path, all local: espeak-ng speaks the user's line on the caller's
// microphone track, the server's VAD and pocketsphinx hear it, the built-in assistant answers, espeak-ng
// speaks the answer on the server's track, and the caller transcribes what it heard with the same
// pocketsphinx. Asserts content and order, not durations. Needs Debian's espeak-ng and pocketsphinx.
isolateNetwork()

t.test('audio mode: a spoken line is heard, answered over WebRTC, and the answer is transcribed and checked', async t => {
  const dir = scratchDir()
  writeFileSync(join(dir, 'repeat.yaml'), `name: Repeat over WebRTC
steps:
  - user: repeat after me the cat sat on the mat
    expect:
      contains: the cat sat on the mat
  - user: repeat after me the cat sat on the mat
    expect:
      contains: the dog
`)
  let output = ''
  const reports = await runEval({
    paths: [join(dir, 'repeat.yaml')],
    mode: 'audio',
    // The built-in assistant's phrase, and its answer, which the caller transcribes.
    env: { PATH: process.env.PATH, POCKETSPHINX_PHRASES: 'repeat after me the cat sat on the mat|the cat sat on the mat' },
    logLevel: 'silent',
    write: (text) => { output += text }
  })
  const [first, second] = reports[0]?.steps ?? []
  t.match(first?.seen, { heard: 'repeat after me the cat sat on the mat', answerText: 'the cat sat on the mat.', answer: 'the cat sat on the mat' }, output)
  t.ok((first?.seen?.firstAudioMs ?? 0) > 0 && (first?.seen?.totalMs ?? 0) > (first?.seen?.firstAudioMs ?? 0), 'the answer was heard after the line, and lasted')
  t.equal(first?.pass, true)
  t.equal(second?.pass, false, 'the second turn of the same call is checked too')
  t.match(output, /✗ step 2: .*\n {6}contains: expected the answer contains "the dog", instead got "the cat sat on the mat"\n {6}heard: "repeat after me the cat sat on the mat"\n/)
  t.ok(output.endsWith('0 passed, 1 failed\n'))
})
