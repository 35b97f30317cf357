import t from 'tap'
import type { ServerMessage } from '../../lib/protocol/server-messages.js'
import { isolateNetwork } from '../helpers/webrtc-client.js'

// The voice page (public/) in real headless Chromium against the real server with the local providers:
// the fake microphone plays espeak-ng speech, pocketsphinx hears it, the built-in assistant answers and
// espeak-ng speaks on the WebRTC track. One browser for the whole file; the steps run in order on one
// page. Every packet stays on 127.0.0.1 (see isolateNetwork). Assertions are on order and content.
isolateNetwork()
// Loaded only now: isolateNetwork re-runs this file in the namespace, so the first process never
// compiles the server (that halves the file's start-up on a busy machine).
const { buildApp } = await import('../helpers/app.js')
const { fakeMicrophoneFile, launchChromium, pageBubbles, pageMessages, probedPage, screenshot, startLevelMeter, waitForPageMessage, waitForSound } = await import('../helpers/browser.js')
const { listenUrl } = await import('../helpers/e2e.js')
const { scratchDir } = await import('../helpers/scratch-dir.js')

// Chromium loops this file. "what time is it" gets a short answer that ends in the long pause after it;
// "what can you do" gets a long one, still playing when the loop comes back to "what time is it": a barge-in.
const MICROPHONE = [500, 'what time is it', 8000, 'what can you do', 4000]

const browser = await launchChromium(t, await fakeMicrophoneFile(scratchDir(), MICROPHONE))
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
const app = await buildApp(t, { env })
const pageUrl = (await listenUrl(app)).replace(/^ws:/, 'http:')
const page = await probedPage(browser)
const pageErrors: string[] = []
page.on('pageerror', error => pageErrors.push(error.message))

const text = async (selector: string): Promise<string> => (await page.textContent(selector) ?? '').trim()
const types = (messages: ServerMessage[]): string => messages.map(m => m.type).filter(type => type !== 'llm-chunk' && type !== 'metrics').join(' ')

t.test('the page connects, then listens once the microphone is on', async t => {
  t.equal(app.llmrtcProviders.stt.name, 'pocketsphinx-stt')
  t.equal(app.llmrtcProviders.tts.name, 'espeak-tts')
  await page.goto(pageUrl)
  t.equal(await text('#state'), 'disconnected')
  await page.click('#connect')
  await page.locator('#mic:enabled').waitFor({ timeout: 30_000 })
  t.equal(await text('#state'), 'connected')
  t.equal(await text('#connect'), 'Disconnect')
  await startLevelMeter(page, '#speaker')
  await page.click('#mic')
  await page.locator('#state:not(:text-is("connected"))').waitFor({ timeout: 30_000 })
  t.match(await text('#state'), /^(listening|you are speaking)$/)
  t.equal(await text('#mic'), 'Microphone off')
  const messages = await pageMessages(page)
  t.match(messages[0], { type: 'ready', protocolVersion: 1 })
  t.equal(messages.filter(m => m.type === 'signal').length, 2, 'two offers answered: the first, then the microphone\'s renegotiation')
})

t.test('a spoken question shows its transcript and the streamed answer, and the answer is heard on the remote track', async t => {
  const done = await waitForPageMessage(page, 'tts-complete')
  const messages = (await pageMessages(page)).slice(0, done + 1)
  const order = ['speech-start', 'speech-end', 'transcript', 'llm-chunk', 'tts-start', 'tts-complete'] as const
  const firsts = order.map(type => messages.findIndex(m => m.type === type))
  t.same(firsts, [...firsts].sort((a, b) => a - b), `events reach the page in protocol order: ${types(messages)}`)
  t.notOk(firsts.includes(-1), 'all of them')
  const transcript = messages.find(m => m.type === 'transcript' && m.isFinal)
  const answer = messages.findLast(m => m.type === 'llm')
  t.match(transcript, { text: /time/ }, 'pocketsphinx heard the question')
  t.match(answer, { text: /^It is \d+:\d\d [AP]M\.$/ }, 'the built-in assistant told the time')

  const shown = await pageBubbles(page)
  t.ok(shown.includes(`bubble user: ${transcript?.type === 'transcript' ? transcript.text : ''}`), `the transcript is shown: ${shown.join(' | ')}`)
  t.ok(shown.includes(`bubble assistant: ${answer?.type === 'llm' ? answer.text : ''}`), 'and the answer')
  t.match(await text('#metrics'), /^last turn: transcript \d+ ms/, 'latency is shown')

  const rms = await waitForSound(page, 0.01)
  t.pass(`the answer is audible on the remote track (WebAudio RMS up to ${rms.toFixed(3)})`)
})

t.test('speaking over the answer cancels it and starts a new turn', async t => {
  const cancelled = await waitForPageMessage(page, 'tts-cancelled', 0, 90_000)
  const next = await waitForPageMessage(page, 'transcript', cancelled)
  const messages = await pageMessages(page)
  const before = messages.slice(0, cancelled)
  const after = messages.slice(cancelled + 1).filter(m => m.type !== 'metrics')
  t.match(before.findLast(m => m.type === 'transcript'), { text: /what can you do/ }, 'the long answer was being spoken')
  t.equal(after[0]?.type, 'speech-start', `the new turn starts right after: ${types(messages.slice(cancelled))}`)
  t.match(messages[next], { text: /time/ }, 'and the interruption is heard')

  // The first cut answer is the interrupted one: the looping microphone may have cut a later answer too
  // by the time the page is read (seen on a loaded machine), so the last one is not always it.
  const cut = (await pageBubbles(page)).filter(bubble => bubble.startsWith('bubble assistant cut: '))
  t.match(cut[0], /^bubble assistant cut: I am the built-in assistant/, 'the page marks the interrupted answer')

  // The words heard before the cut come with tts-cancelled (ours); the page shows the rest as unheard.
  const heard = messages[cancelled]?.type === 'tts-cancelled' ? messages[cancelled].heard : undefined
  t.type(heard, 'string', `tts-cancelled says what was heard: "${heard ?? ''}"`)
  const answer = page.locator('.bubble.assistant.cut').first()
  const unheard = await answer.locator('.unheard').textContent() ?? ''
  const whole = await answer.textContent() ?? ''
  t.ok(unheard.length > 0 && whole.endsWith(unheard), `the unheard end of the answer is marked: "${unheard}"`)
  const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []
  t.same(words(whole.slice(0, whole.length - unheard.length)), words(heard ?? ''), 'and the rest of the bubble is what was heard')
  t.match(await answer.locator('.unheard').evaluate(node => (globalThis as unknown as { getComputedStyle: (node: unknown) => { textDecorationLine: string } }).getComputedStyle(node).textDecorationLine), /line-through/, 'struck through')
  t.comment(`screenshot: ${await screenshot(page, 'voice-page-desktop.png')}`)
  t.comment(`screenshot: ${await screenshot(page, 'voice-page.png', 'main')}`)
})

t.test('when the server drops the socket, the page reconnects and resumes its session', async t => {
  const messages = await pageMessages(page)
  const first = messages[0]?.type === 'ready' ? messages[0].id : ''
  for (const socket of app.websocketServer.clients) socket.terminate()
  const ack = await waitForPageMessage(page, 'reconnect-ack', messages.length)
  t.match((await pageMessages(page))[ack], { success: true, sessionId: first, historyRecovered: true }, 'the old session id is sent back and accepted')
  const heard = await waitForPageMessage(page, 'transcript', await waitForPageMessage(page, 'speech-start', ack))
  t.match((await pageMessages(page))[heard], { text: /\w/ }, 'the microphone is heard again on the new peer connection')
  t.equal(app.llmrtcSessions.get(first)?.connected, true, 'on the same session')
})

t.test('the microphone turned off and on again is heard again', async t => {
  await page.click('#mic')
  t.equal(await text('#state'), 'connected')
  t.equal(await text('#mic'), 'Microphone on')
  await page.click('#mic')
  await page.locator('#mic:text-is("Microphone off")').waitFor({ timeout: 30_000 })
  t.equal(await text('#state'), 'listening')
  // Speech that both starts and ends after the microphone came back, so none of it is from before.
  const from = (await pageMessages(page)).length
  const start = await waitForPageMessage(page, 'speech-start', await waitForPageMessage(page, 'speech-end', from))
  const heard = await waitForPageMessage(page, 'transcript', start)
  t.match((await pageMessages(page))[heard], { text: /\w/ })
  t.notOk((await pageMessages(page)).slice(from).some(m => m.type === 'signal'), 'on the same sender: no renegotiation')
})

t.test('tool calls and stage changes show in the conversation', async t => {
  const id = (await pageMessages(page)).findLast(m => m.type === 'reconnect-ack')
  const session = app.llmrtcSessions.get(id?.type === 'reconnect-ack' ? id.sessionId : '')
  t.ok(session, 'the page\'s session')
  session?.send({ type: 'tool-call-start', name: 'get_weather', callId: 'call-1', arguments: { city: 'Paris' } })
  session?.send({ type: 'tool-call-end', callId: 'call-1', result: { sky: 'clear' }, durationMs: 12 })
  session?.send({ type: 'stage-change', from: 'greeting', to: 'booking', reason: 'tool call' })
  await page.locator('.bubble.event').nth(2).waitFor({ timeout: 30_000 })
  t.same(await page.locator('.bubble.event').allTextContents(), ['tool get_weather…', 'tool get_weather done in 12 ms', 'stage greeting → booking (tool call)'])
})

t.test('a failing turn shows the error and the page leaves "thinking" for "listening"', async t => {
  // The built-in LLM throws for a while: the turns the looping microphone starts fail with LLM_ERROR.
  const llm = app.llmrtcProviders.llm
  const stream = llm.stream
  llm.stream = () => ({ [Symbol.asyncIterator]: () => ({ next: async () => { throw new Error('the language model is down') } }) })
  t.teardown(() => { llm.stream = stream })
  const from = (await pageMessages(page)).length
  const timelineFrom = await page.evaluate(() => (globalThis as unknown as { llmrtcTest: { timeline: string[] } }).llmrtcTest.timeline.length)
  const failed = await waitForPageMessage(page, 'error', from, 90_000)
  llm.stream = stream
  t.match((await pageMessages(page))[failed], { code: 'LLM_ERROR', message: /language model is down/ })
  t.match(await text('#banner'), /^LLM_ERROR: /, 'the error is shown')
  // The page read the error on the data channel: the state it showed right after.
  const timeline = await page.waitForFunction((from) => {
    const all = (globalThis as unknown as { llmrtcTest: { timeline: string[] } }).llmrtcTest.timeline.slice(from)
    const error = all.indexOf('message error')
    return error !== -1 && all.length > error + 1 ? all : false
  }, timelineFrom, { timeout: 30_000, polling: 100 }).then(async handle => await handle.jsonValue() as string[])
  const error = timeline.indexOf('message error')
  t.equal(timeline.slice(0, error).filter(entry => entry.startsWith('state ')).at(-1), 'state thinking', `the turn was thinking when it failed: ${timeline.join(', ')}`)
  t.equal(timeline[error + 1], 'state listening', 'and the page listens again at once, not "thinking" until the next speech')
})

t.test('the page fits a phone screen', async t => {
  await page.setViewportSize({ width: 390, height: 844 })
  t.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'no horizontal scrolling')
  const connect = await page.locator('#connect').boundingBox()
  const mic = await page.locator('#mic').boundingBox()
  t.ok(connect !== null && mic !== null && connect.y === mic.y && mic.x + mic.width <= 390, 'both buttons side by side on screen')
  t.comment(`screenshot: ${await screenshot(page, 'voice-page-phone.png')}`)
  t.same(pageErrors, [], 'no script error on the page')
})
