/**
 * The real WebRTC test client (test/helpers/webrtc-client.ts) for benchmarks. The helper imports `tap`
 * to close forgotten clients when a test file ends; loaded outside tap, that import starts tap's root
 * test (TAP output on stdout, and a 30 s timeout that ends a longer benchmark). Benchmarks are not
 * tests: `tap` is resolved to a no-op stub here, before the helper loads.
 */
import { register } from 'node:module'
import type * as Helper from '../test/helpers/webrtc-client.js'

const STUB = 'data:text/javascript,export default { teardown () {} }'
register('data:text/javascript,' + encodeURIComponent(
  `export async function resolve (specifier, context, next) {
    return specifier === 'tap' ? { url: ${JSON.stringify(STUB)}, shortCircuit: true } : next(specifier, context)
  }`
))

const helper: typeof Helper = await import('../test/helpers/webrtc-client.js')

export const { WebRTCTestClient, isolateNetwork } = helper
// eslint-disable-next-line @typescript-eslint/no-redeclare -- the class's value and its type, as one name
export type WebRTCTestClient = Helper.WebRTCTestClient
