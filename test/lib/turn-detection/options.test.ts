import t from 'tap'
import { HeuristicTurnDetector } from '../../../lib/turn-detection/heuristic-turn-detector.js'
import { DEFAULT_TURN_DETECTION_OPTIONS, resolveTurnDetectionOptions } from '../../../lib/turn-detection/options.js'
import type { TurnDetectionOptions, TurnDetector } from '../../../lib/turn-detection/types.js'

const invalid = (name: string): { code: string, message: RegExp } => ({ code: 'LLMRTC_ERR_OPTIONS_INVALID', message: new RegExp(`"${name.replace('.', '\\.')}"`) })

t.test('no options resolve to the defaults with the heuristic detector', async t => {
  for (const options of [undefined, {}, { minEndpointMs: undefined }]) {
    const resolved = resolveTurnDetectionOptions(options)
    if (resolved === false) return t.fail('enabled')
    t.ok(resolved.detector instanceof HeuristicTurnDetector)
    t.same({ ...resolved, detector: undefined }, { ...DEFAULT_TURN_DETECTION_OPTIONS, detector: undefined })
  }
  t.same(DEFAULT_TURN_DETECTION_OPTIONS, { minEndpointMs: 200, maxEndpointMs: 1600, dynamic: true, language: 'en' })
})

t.test('false turns adaptive end of turn off', async t => {
  t.equal(resolveTurnDetectionOptions(false), false)
})

t.test('given options and a custom detector are kept', async t => {
  const detector: TurnDetector = { name: 'always-done', predict: () => 1 }
  t.same(resolveTurnDetectionOptions({ detector, minEndpointMs: 100, maxEndpointMs: 100, dynamic: false, language: 'pt-BR' }),
    { detector, minEndpointMs: 100, maxEndpointMs: 100, dynamic: false, language: 'pt-BR' })
})

t.test('bad values are refused at resolve time, named turnDetection.<key>', async t => {
  const cases: Array<[unknown, string]> = [
    [{ minEndpointMs: -1 }, 'turnDetection.minEndpointMs'],
    [{ minEndpointMs: 12.5 }, 'turnDetection.minEndpointMs'],
    [{ minEndpointMs: '250' }, 'turnDetection.minEndpointMs'],
    [{ maxEndpointMs: 150 }, 'turnDetection.maxEndpointMs'],
    [{ maxEndpointMs: 20_000 }, 'turnDetection.maxEndpointMs'],
    [{ dynamic: 'yes' }, 'turnDetection.dynamic'],
    [{ language: 'english!' }, 'turnDetection.language'],
    [{ detector: { predict: () => 1 } }, 'turnDetection.detector'],
    [{ detector: { name: 'x', predict: 1 } }, 'turnDetection.detector'],
    [{ detector: { name: 'x', predict: () => 1, close: 'no' } }, 'turnDetection.detector'],
    [{ minEndpoint: 200 }, 'turnDetection.minEndpoint'],
    [true, 'turnDetection'],
    [null, 'turnDetection'],
    [[], 'turnDetection']
  ]
  for (const [options, name] of cases) {
    t.throws(() => resolveTurnDetectionOptions(options as TurnDetectionOptions), invalid(name), `${JSON.stringify(options)} names ${name}`)
  }
})

t.test('the error says what was expected and what came instead', async t => {
  t.throws(() => resolveTurnDetectionOptions({ maxEndpointMs: 100 }), {
    message: 'Invalid llmrtc option "turnDetection.maxEndpointMs": expected an integer number of milliseconds from minEndpointMs (200) to 10000, instead got 100'
  })
})

t.test('a prefix names the options where they were given', async t => {
  t.throws(() => resolveTurnDetectionOptions({ dynamic: 1 as unknown as boolean }, 'turnTaking.turnDetection.'), invalid('turnTaking.turnDetection.dynamic'))
  t.throws(() => resolveTurnDetectionOptions(7 as unknown as TurnDetectionOptions, 'session.turnDetection.'), invalid('session.turnDetection'))
})
