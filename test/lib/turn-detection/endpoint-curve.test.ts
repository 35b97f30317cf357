import t from 'tap'
import { endpointForProbability } from '../../../lib/turn-detection/endpoint-curve.js'

t.test('a certain end waits the minimum and a certain continuation the maximum', async t => {
  t.equal(endpointForProbability(1, 250, 1600), 250)
  t.equal(endpointForProbability(0, 250, 1600), 1600)
})

t.test('the wait follows min + (max - min)(1 - p)²: an undecided 0.5 waits about the old fixed 550 ms', async t => {
  t.equal(endpointForProbability(0.5, 250, 1600), 588)
  t.equal(endpointForProbability(0.9, 250, 1600), 264)
  t.equal(endpointForProbability(0.2, 250, 1600), 1114)
})

t.test('the wait never grows with the probability and stays within the bounds', async t => {
  let previous = Infinity
  for (let i = 0; i <= 1000; i++) {
    const wait = endpointForProbability(i / 1000, 250, 1600)
    if (wait > previous || wait < 250 || wait > 1600) return t.fail(`p=${i / 1000} waits ${wait} after ${previous}`)
    previous = wait
  }
  t.pass('monotone and bounded over 1001 probabilities')
})

t.test('probabilities outside 0-1 are clamped and NaN counts as 0.5', async t => {
  t.equal(endpointForProbability(7, 250, 1600), 250)
  t.equal(endpointForProbability(-1, 250, 1600), 1600)
  t.equal(endpointForProbability(Number.NaN, 250, 1600), endpointForProbability(0.5, 250, 1600))
})

t.test('equal bounds give a fixed wait', async t => {
  for (const p of [0, 0.3, 1]) t.equal(endpointForProbability(p, 700, 700), 700)
})
