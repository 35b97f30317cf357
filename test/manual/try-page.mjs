// Manual check of the voice page in real headless Chromium against a server you started yourself (not part
// of npm test: test/browser/voice-page.test.ts is the automated one). Needs Debian chromium. Run
// everything inside a loopback-only namespace:
//   espeak-ng -v en-us -w /tmp/q.wav "Repeat after me, the cat sat on the mat." && sox /tmp/q.wav -r 48000 /tmp/q48.wav pad 0.5 2
//   unshare -n sh -c 'ip link set lo up; (npm start > /tmp/server.log 2>&1 &); sleep 4; node test/manual/try-page.mjs /tmp/q48.wav'
// --allow-loopback-in-peer-connection matters: Chromium gathers no loopback candidates without it, so in a
// namespace that has only lo, ICE never connects (signaling works, media does not).
import { chromium } from 'playwright-core'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
const wav = process.argv[2]
const dir = mkdtempSync(join(tmpdir(), 'chr-'))
const browser = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection']
})
const page = browser.pages()[0] ?? await browser.newPage()
await page.addInitScript(() => { const Orig = window.RTCPeerConnection; window.__pcs = []; window.RTCPeerConnection = function (...a) { const pc = new Orig(...a); window.__pcs.push(pc); return pc }; window.RTCPeerConnection.prototype = Orig.prototype })
page.on('console', m => console.log('console:', m.text()))
page.on('pageerror', e => console.log('pageerror:', e.message))
await page.goto('http://127.0.0.1:8787/')
await page.click('#connect')
await page.waitForFunction(() => !document.getElementById('mic').disabled, null, { timeout: 15000 })
await page.click('#mic')
for (let i = 0; i < 6; i++) {
  await page.waitForTimeout(3000)
  console.log('T', i, await page.textContent('#state'), '|', await page.textContent('#status'), '|', await page.evaluate(() => document.getElementById('banner').textContent), '|', await page.evaluate(() => document.getElementById('conversation').textContent))
}
await page.waitForTimeout(4000)
console.log('STATS', await page.evaluate(async () => { const out = []; for (const pc of window.__pcs) { const r = await pc.getStats(); r.forEach(x => { if (x.type === 'outbound-rtp' || x.type === 'transport' || x.type === 'codec' || x.type === 'media-source') out.push(JSON.stringify({ type: x.type, kind: x.kind, bytes: x.bytesSent ?? x.bytesReceived, packets: x.packetsSent ?? x.packetsReceived, mime: x.mimeType, audioLevel: x.audioLevel, pt: x.payloadType, srtp: x.srtpCipher, tls: x.tlsVersion, dtls: x.dtlsState, cipher: x.dtlsCipher })) }) } return out.join('\n') }))
console.log('STATE', await page.textContent('#state'))
console.log('CONVERSATION', await page.evaluate(() => [...document.querySelectorAll('.bubble')].map(b => b.className + ': ' + b.textContent).join('\n')))
console.log('METRICS', await page.textContent('#metrics'))
console.log('BANNER', await page.evaluate(() => document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent))
await page.screenshot({ path: '/tmp/page.png' })
await browser.close()
process.exit(0)
