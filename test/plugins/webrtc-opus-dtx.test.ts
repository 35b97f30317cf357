import t, { type Test } from 'tap'
import { withOpusDtx } from '../../plugins/webrtc/opus-dtx.js'
import { buildApp } from '../helpers/app.js'
import { listenUrl } from '../helpers/e2e.js'
import { WebRTCTestClient, isolateNetwork } from '../helpers/webrtc-client.js'
import { sleep } from '../../lib/streams/sleep.js'

isolateNetwork()

const OFFER = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  ''
].join('\r\n')

t.test('withOpusDtx adds usedtx=1 to the Opus fmtp only', async t => {
  const sdp = withOpusDtx(OFFER)
  t.match(sdp, /\r\na=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n/)
  t.match(sdp, /\r\na=fmtp:63 111\/111\r\n/, 'RED untouched')
  t.equal(sdp.replace(';usedtx=1', ''), OFFER, 'nothing else changes')
  t.equal(withOpusDtx(sdp), sdp, 'idempotent')
})

t.test('withOpusDtx keeps the client\'s own usedtx, adds a missing fmtp line, ignores SDP without Opus', async t => {
  const refused = OFFER.replace('useinbandfec=1', 'useinbandfec=1;usedtx=0')
  t.equal(withOpusDtx(refused), refused, 'usedtx=0 is the client\'s choice')
  const noFmtp = OFFER.replace('a=fmtp:111 minptime=10;useinbandfec=1\r\n', '')
  t.match(withOpusDtx(noFmtp), /a=rtpmap:111 opus\/48000\/2\r\na=fmtp:111 usedtx=1\r\n/)
  const lf = OFFER.replaceAll('\r\n', '\n')
  t.match(withOpusDtx(lf), /\na=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\n/, 'LF line ends kept')
  const g711 = 'v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
  t.equal(withOpusDtx(g711), g711)
})

/** Audio packets the client receives from the server's idle (silent) track over `windowMs`. */
async function silentPackets (t: Test, opusDtx: boolean | undefined, windowMs: number): Promise<number> {
  const app = await buildApp(t, opusDtx === undefined ? {} : { webrtc: { opusDtx } })
  const client = await WebRTCTestClient.connect(await listenUrl(app), { timeoutMs: 15_000 })
  t.teardown(() => client.close())
  const received = async (): Promise<number> => {
    const stats = await (client.peer as unknown as { getStats: () => Promise<Map<string, Record<string, unknown>>> }).getStats()
    let packets = 0
    for (const report of stats.values()) {
      if (report.type === 'inbound-rtp' && report.kind === 'audio') packets += Number(report.packetsReceived ?? 0)
    }
    return packets
  }
  await sleep(500)
  const before = await received()
  await sleep(windowMs)
  return (await received()) - before
}

t.test('the server\'s silent track streams by default; with opusDtx: true it sends comfort noise only', async t => {
  const windowMs = 2000
  // Without DTX a 20 ms packet goes out every 20 ms (100 in the window); with it, one every 400 ms.
  const withDtx = await silentPackets(t, true, windowMs)
  const without = await silentPackets(t, undefined, windowMs)
  t.ok(without >= 60, `without DTX the silent track streams (${without} packets in ${windowMs} ms)`)
  t.ok(withDtx <= 20, `with DTX the silent track sends a few comfort-noise packets (${withDtx} in ${windowMs} ms)`)
})

t.test('webrtc.opusDtx must be a boolean', async t => {
  await t.rejects(buildApp(t, { webrtc: { opusDtx: 'yes' as unknown as boolean } }), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message: /opusDtx/ })
})
