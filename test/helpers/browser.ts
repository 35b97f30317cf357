import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { encodeWav } from '../../lib/audio/wav.js'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import { concat, silence, synthesizeSpeech } from './speech.js'

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Where tests keep screenshots (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))

const PROBES = fileURLToPath(new URL('../browser/page-probes.js', import.meta.url))

/** Chromium captures at 48 kHz. */
const MIC_RATE_HZ = 48_000

/**
 * Writes a mono 48 kHz WAV for Chromium's fake microphone: each part is either a phrase spoken by
 * espeak-ng or a pause in ms. Chromium plays the file in a loop once the page captures it.
 */
export async function fakeMicrophoneFile (dir: string, parts: ReadonlyArray<string | number>): Promise<string> {
  const pcm = await Promise.all(parts.map(async part => typeof part === 'number' ? silence(part, MIC_RATE_HZ) : await synthesizeSpeech(part, MIC_RATE_HZ)))
  const file = join(dir, 'microphone.wav')
  writeFileSync(file, encodeWav(concat(...pcm), MIC_RATE_HZ))
  return file
}

/**
 * Headless Chromium with a fake microphone playing `microphoneWav` and fake permission prompts, in a
 * fresh profile; closed (and the profile removed) at teardown. Fails, never skips, without chromium.
 */
export async function launchChromium (t: Test, microphoneWav: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`The browser tests need Chromium, and there is none at ${CHROMIUM_PATH}: apt-get install chromium (or set CHROMIUM_PATH)`)
  }
  const profile = mkdtempSync(join(tmpdir(), 'llmrtc-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${microphoneWav}`,
      '--autoplay-policy=no-user-gesture-required',
      // Without it Chromium gathers no loopback candidates: in a loopback-only namespace ICE never connects.
      '--allow-loopback-in-peer-connection'
    ]
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return context
}

/** What test/browser/page-probes.js keeps in the page, as `window.llmrtcTest`. */
interface Probe {
  /** Every message the page received on its WebSocket, in order. */
  messages: ServerMessage[]
  /** The loudest 20 ms of the remote audio since startLevelMeter, as RMS in [0, 1]. */
  maxRms: number
  startLevelMeter: (selector: string) => Promise<void>
  bubbles: () => string[]
  peerReport: () => Promise<string>
}
type ProbeWindow = typeof globalThis & { llmrtcTest: Probe }

/** A page with the probes installed before its own script runs. */
export async function probedPage (context: BrowserContext): Promise<Page> {
  const page = context.pages()[0] ?? await context.newPage()
  await page.addInitScript({ path: PROBES })
  return page
}

/** The messages the page received so far. */
export async function pageMessages (page: Page): Promise<ServerMessage[]> {
  return await page.evaluate(() => (globalThis as ProbeWindow).llmrtcTest.messages)
}

/** Waits until the page received a message of `type` at index `from` or later; returns its index. */
export async function waitForPageMessage (page: Page, type: ServerMessage['type'], from = 0, timeoutMs = 60_000): Promise<number> {
  try {
    const handle = await page.waitForFunction(([type, from]) => {
      const index = (globalThis as ProbeWindow).llmrtcTest.messages.findIndex((m, i) => i >= from && m.type === type)
      return index === -1 ? false : index
    }, [type, from] as const, { timeout: timeoutMs, polling: 100 })
    return await handle.jsonValue() as number
  } catch (err) {
    const since = (await pageMessages(page)).slice(from).map(m => m.type === 'error' ? `error(${m.code}: ${m.message})` : m.type)
    const shown = await page.evaluate('[\'state\', \'status\', \'banner\'].map(id => document.getElementById(id)).filter(node => !node.hidden).map(node => node.textContent).join(\' | \')')
    const peer = await page.evaluate(async () => await (globalThis as ProbeWindow).llmrtcTest.peerReport())
    throw new Error(`no ${type} after message ${from}; since then: ${since.join(' ') || 'nothing'}; the page shows: ${String(shown)}; ${peer}`, { cause: err })
  }
}

/** The conversation as shown: "<classes>: <text>" per bubble. */
export async function pageBubbles (page: Page): Promise<string[]> {
  return await page.evaluate(() => (globalThis as ProbeWindow).llmrtcTest.bubbles())
}

/** Measures the loudness of what plays in the audio element `selector` with WebAudio (an AnalyserNode). */
export async function startLevelMeter (page: Page, selector: string): Promise<void> {
  await page.evaluate(async (selector) => { await (globalThis as ProbeWindow).llmrtcTest.startLevelMeter(selector) }, selector)
}

/** Waits until the remote audio was louder than `rms` (RMS in [0, 1]); returns the loudest seen. */
export async function waitForSound (page: Page, rms: number, timeoutMs = 30_000): Promise<number> {
  const handle = await page.waitForFunction((rms) => {
    const { maxRms } = (globalThis as ProbeWindow).llmrtcTest
    return maxRms > rms ? maxRms : false
  }, rms, { timeout: timeoutMs, polling: 100 })
  return await handle.jsonValue() as number
}

/** Saves a screenshot of the page (or of the element `selector`) under test-artifacts/; returns its path. */
export async function screenshot (page: Page, name: string, selector?: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true })
  const path = join(ARTIFACTS_DIR, name)
  if (selector === undefined) await page.screenshot({ path })
  else await page.locator(selector).screenshot({ path })
  return path
}
