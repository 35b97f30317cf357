import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { OnnxTurnDetector, type OnnxTurnDetectorOptions } from '../../../lib/turn-detection/onnx-turn-detector.js'
import type { TurnDetectionInput } from '../../../lib/turn-detection/types.js'
import { scratchDir } from '../../helpers/scratch-dir.js'
import { FLOAT, INT64, logitsModel, onnxModel, probabilityModel } from '../../helpers/tiny-onnx-model.js'

/** A word-level tokenizer over a tiny vocabulary; unknown words are id 0. */
const VOCAB = ['<unk>', 'yes', 'thanks', 'and', 'the', '<eot>']
const tokenize = (text: string): number[] => text.split(/\s+/).filter(w => w !== '').map(w => Math.max(0, VOCAB.indexOf(w)))
/** Per-token scores of the probability model: finished words high, connectives low. */
const SCORES = [0, 4, 4, -4, -3, 0]
/** Logits per token of the logits model (rows: the token at a position; columns: the next token). */
const LOGITS = [
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 3], // after "yes": <eot> likely
  [0, 0, 0, 0, 0, 5], // after "thanks": <eot> very likely
  [0, 1, 1, 0, 3, -2], // after "and": "the" likely, <eot> unlikely
  [0, 2, 0, 0, 0, -3],
  [0, 0, 0, 0, 0, 0]
]
const EOT = 5

const dir = scratchDir()
function modelFile (name: string, bytes: Uint8Array): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}
const probabilityPath = modelFile('probability.onnx', probabilityModel(SCORES))
const probability2dPath = modelFile('probability-2d.onnx', probabilityModel(SCORES, { keepDims: true }))
const logitsPath = modelFile('logits.onnx', logitsModel(LOGITS))

const input = (transcript: string, extra: Partial<TurnDetectionInput> = {}): TurnDetectionInput =>
  ({ transcript, silenceMs: 300, history: [], language: 'en', ...extra })

async function load (t: Test, path: string, options: Partial<OnnxTurnDetectorOptions> = {}): Promise<OnnxTurnDetector> {
  const detector = await OnnxTurnDetector.load(path, { tokenize, ...options })
  t.teardown(() => detector.close())
  return detector
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x))
const softmaxAt = (row: number[], i: number): number => Math.exp(row[i] as number) / row.reduce((sum, x) => sum + Math.exp(x), 0)

t.test('a probability model is fed token ids and an attention mask, and its answer differs with the words', async t => {
  const detector = await load(t, probabilityPath)
  t.equal(detector.name, 'onnx')
  const finished = await detector.predict(input('yes thanks'))
  const unfinished = await detector.predict(input('and the'))
  t.ok(Math.abs(finished - sigmoid(4)) < 1e-6, `finished ${finished}`)
  t.ok(Math.abs(unfinished - sigmoid(-3.5)) < 1e-6, `unfinished ${unfinished}`)
})

t.test('a probability of shape [1, 1] is read the same way', async t => {
  const detector = await load(t, probability2dPath)
  t.ok(Math.abs(await detector.predict(input('thanks')) - sigmoid(4)) < 1e-6)
  t.ok(Math.abs(await detector.predict(input('the')) - sigmoid(-3)) < 1e-6)
})

t.test('a logits model answers the softmax probability of the end-of-turn token at the last position', async t => {
  const detector = await load(t, logitsPath, { endOfTurnTokenId: EOT, name: 'tiny-lm' })
  t.equal(detector.name, 'tiny-lm')
  const afterThanks = await detector.predict(input('and thanks'))
  const afterAnd = await detector.predict(input('thanks and'))
  t.ok(Math.abs(afterThanks - softmaxAt(LOGITS[2] as number[], EOT)) < 1e-6, `after "thanks" ${afterThanks}`)
  t.ok(Math.abs(afterAnd - softmaxAt(LOGITS[3] as number[], EOT)) < 1e-6, `after "and" ${afterAnd}`)
  t.ok(afterThanks > 0.9 && afterAnd < 0.05)
})

t.test('a logits model without endOfTurnTokenId, or with one outside its vocabulary, is refused at load', async t => {
  await t.rejects(OnnxTurnDetector.load(logitsPath, { tokenize }), { code: 'LLMRTC_ERR_VAD', message: /set endOfTurnTokenId/ })
  await t.rejects(OnnxTurnDetector.load(logitsPath, { tokenize, endOfTurnTokenId: 6 }), { code: 'LLMRTC_ERR_VAD', message: /not among its 6 tokens/ })
})

t.test('formatInput renders what the model reads and maxTokens keeps the last tokens', async t => {
  const seen: string[] = []
  const detector = await load(t, probabilityPath, {
    maxTokens: 1,
    tokenize: text => { seen.push(text); return tokenize(text) },
    formatInput: i => `${i.history.map(m => m.content).join(' ')} ${i.transcript}`
  })
  const p = await detector.predict(input('and', { history: [{ role: 'assistant', content: 'yes thanks' }] }))
  t.same(seen, ['yes thanks and'])
  t.ok(Math.abs(p - sigmoid(-4)) < 1e-6, 'only "and" was fed')
})

t.test('token ids may come as a BigInt64Array, and no tokens means unknown (0.5)', async t => {
  const detector = await load(t, probabilityPath, { tokenize: text => BigInt64Array.from(tokenize(text), BigInt) })
  t.ok(Math.abs(await detector.predict(input('thanks')) - sigmoid(4)) < 1e-6)
  t.equal(await detector.predict(input('')), 0.5)
})

t.test('a tokenizer that fails or returns bad ids rejects with LLMRTC_ERR_VAD and the cause', async t => {
  const boom = new Error('vocab missing')
  const failing = await load(t, probabilityPath, { tokenize: () => { throw boom } })
  await t.rejects(failing.predict(input('yes')), { code: 'LLMRTC_ERR_VAD', cause: boom })
  const negative = await load(t, probabilityPath, { tokenize: () => [1, -2] })
  await t.rejects(negative.predict(input('yes')), { code: 'LLMRTC_ERR_VAD', message: /non-negative integer/ })
})

t.test('a failed inference rejects with LLMRTC_ERR_VAD and the cause', async t => {
  const detector = await load(t, probabilityPath, { tokenize: () => [99] })
  const err = await detector.predict(input('yes')).then(() => undefined, (e: unknown) => e)
  t.match(err, { code: 'LLMRTC_ERR_VAD', message: /inference failed/ })
  t.ok((err as Error).cause instanceof Error, 'onnxruntime\'s error is the cause')
})

t.test('an output that is not a float tensor rejects with LLMRTC_ERR_VAD', async t => {
  const ids = modelFile('ids.onnx', onnxModel({
    inputs: [{ name: 'input_ids', elemType: INT64, dims: [1, 'n'] }],
    outputs: [{ name: 'same', elemType: INT64, dims: [1, 'n'] }],
    nodes: [{ op: 'Identity', inputs: ['input_ids'], outputs: ['same'] }]
  }))
  const detector = await load(t, ids)
  await t.rejects(detector.predict(input('yes')), { code: 'LLMRTC_ERR_VAD', message: /"same" is not a float tensor/ })
})

t.test('an aborted prediction rejects with the signal reason', async t => {
  const detector = await load(t, probabilityPath)
  const controller = new AbortController()
  const reason = new Error('turn over')
  controller.abort(reason)
  await t.rejects(detector.predict(input('yes', { signal: controller.signal })), reason)
})

t.test('close is idempotent and a closed detector rejects predictions', async t => {
  const detector = await OnnxTurnDetector.load(probabilityPath, { tokenize })
  await detector.close()
  await detector.close()
  await t.rejects(detector.predict(input('yes')), { code: 'LLMRTC_ERR_VAD', message: /closed/ })
})

t.test('a missing file or a file that is not a model rejects with a clear LLMRTC_ERR_VAD', async t => {
  await t.rejects(OnnxTurnDetector.load(join(dir, 'missing.onnx'), { tokenize }), { code: 'LLMRTC_ERR_VAD', message: /missing\.onnx: no such file/ })
  const junk = modelFile('junk.onnx', new TextEncoder().encode('this is not a model'))
  await t.rejects(OnnxTurnDetector.load(junk, { tokenize }), { code: 'LLMRTC_ERR_VAD', message: /junk\.onnx: not a valid ONNX model/ })
})

t.test('a model with inputs or outputs that do not fit the contract is refused at load', async t => {
  const extraInput = modelFile('extra-input.onnx', onnxModel({
    inputs: [{ name: 'input_ids', elemType: INT64, dims: [1, 'n'] }, { name: 'speaker_ids', elemType: INT64, dims: [1, 'n'] }],
    outputs: [{ name: 'p', elemType: FLOAT, dims: [1, 'n'] }],
    nodes: [{ op: 'Add', inputs: ['input_ids', 'speaker_ids'], outputs: ['sum'] }, { op: 'Cast', inputs: ['sum'], outputs: ['p'], int: { to: FLOAT } }]
  }))
  await t.rejects(OnnxTurnDetector.load(extraInput, { tokenize }), { code: 'LLMRTC_ERR_VAD', message: /does not feed: speaker_ids/ })
  await t.rejects(OnnxTurnDetector.load(probabilityPath, { tokenize, inputName: 'tokens' }), { code: 'LLMRTC_ERR_VAD', message: /no input "tokens"/ })
  await t.rejects(OnnxTurnDetector.load(probabilityPath, { tokenize, outputName: 'logits' }), { code: 'LLMRTC_ERR_VAD', message: /no output "logits"/ })
})

t.test('bad options are refused before the model is loaded', async t => {
  const cases: Array<[unknown, string]> = [
    [{}, 'onnxTurnDetector.tokenize'],
    [{ tokenize, maxTokens: 0 }, 'onnxTurnDetector.maxTokens'],
    [{ tokenize, endOfTurnTokenId: -1 }, 'onnxTurnDetector.endOfTurnTokenId'],
    [{ tokenize, formatInput: 'transcript' }, 'onnxTurnDetector.formatInput'],
    [{ tokenize, inputName: '' }, 'onnxTurnDetector.inputName']
  ]
  for (const [options, name] of cases) {
    await t.rejects(OnnxTurnDetector.load(probabilityPath, options as OnnxTurnDetectorOptions), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: new RegExp(`"${name.replace('.', '\\.')}"`) }, name)
  }
  await t.rejects(OnnxTurnDetector.load('', { tokenize }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /onnxTurnDetector\.path/ })
})
