// A minimal voice client for llmrtc, written against protocol v1 (docs/protocol.md): one WebSocket for
// signaling, one RTCPeerConnection (the client offers) with a "data" channel, the server's audio track
// played as is, the microphone added later by renegotiation. No build step, no dependencies.

const $ = (id) => document.getElementById(id)
const ui = { state: $('state'), banner: $('banner'), connect: $('connect'), mic: $('mic'), status: $('status'), conversation: $('conversation'), interim: $('interim'), metrics: $('metrics'), speaker: $('speaker') }
const signalingUrl = new URL(location.pathname, location.href)
signalingUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
// With authentication on, open the page as /?token=<JWT>: the token goes on the WebSocket URL (browsers
// cannot set headers on a WebSocket), which is where the server looks for it.
const pageToken = new URLSearchParams(location.search).get('token')
if (pageToken) signalingUrl.searchParams.set('token', pageToken)
const SIGNALING = new Set(['ready', 'pong', 'signal', 'ice', 'reconnect-ack'])
// Errors after which no more of the turn comes (docs/errors.md): the turn is over, or never started.
const TURN_ENDING = new Set(['STT_ERROR', 'STT_TIMEOUT', 'LLM_ERROR', 'LLM_TIMEOUT', 'TTS_ERROR', 'TTS_TIMEOUT', 'AUDIO_PROCESSING_ERROR', 'VAD_ERROR', 'INVALID_AUDIO_FORMAT', 'INTERNAL_ERROR'])

let ws, pc, channel, pingTimer, bannerTimer
let micStream = null
let micSender = null // kept while the peer lives: turning the microphone back on replaces its track
let answerWaiter = null // settles the offer in flight when its answer arrives
let sessionId = null
let wanted = false // the user wants to be connected (reconnect on loss)
let attempt = 0
let assistantBubble = null
let pendingReady = null
const toolNames = new Map() // callId → tool name, for tool-call-end

function setState (name, label) { ui.state.className = `state ${name}`; ui.state.textContent = label }
function status (text) { ui.status.textContent = text }
function showError (text) {
  ui.banner.textContent = text
  ui.banner.hidden = false
  clearTimeout(bannerTimer)
  bannerTimer = setTimeout(() => { ui.banner.hidden = true }, 8000)
}
/** The state when no turn runs: listening with the microphone on, else connected (or not). */
function settle () {
  if (micStream !== null) setState('listening', 'listening')
  else if (pc !== null && pc !== undefined) setState('idle', 'connected')
  else setState('idle', wanted ? 'reconnecting' : 'disconnected')
}
function bubble (kind, text) {
  const node = document.createElement('div')
  node.className = `bubble ${kind}`
  node.textContent = text
  ui.conversation.append(node)
  node.scrollIntoView({ block: 'end' })
  return node
}
/**
 * An answer still open when a new turn starts was cut short: by barge-in (tts-cancelled comes only when
 * its audio was playing, not while it was being written) or by a failure.
 */
function endAnswer () {
  assistantBubble?.classList.add('cut')
  assistantBubble = null
}
/**
 * Marks the part of the answer the user never heard. `heard` is the spoken words (after the server's
 * speech filters: no markdown, numbers maybe read out), so it is matched word by word against the shown
 * text, skipping words the filters changed; the shown text after the last matched word was not heard.
 */
function markUnheard (node, heard) {
  const text = node.textContent
  const word = /[\p{L}\p{N}']+/gu
  const tokens = [...text.matchAll(word)]
  let next = 0
  let end = 0
  for (const [spoken] of heard.matchAll(word)) {
    const lower = spoken.toLowerCase()
    // Look a few words ahead only: a common word must not match far down the answer.
    for (let i = next; i < Math.min(tokens.length, next + 4); i++) {
      if (tokens[i][0].toLowerCase() !== lower) continue
      end = tokens[i].index + tokens[i][0].length
      next = i + 1
      break
    }
  }
  if (end >= text.length) return
  const unheard = document.createElement('span')
  unheard.className = 'unheard'
  unheard.title = 'not heard: the answer was interrupted here'
  unheard.textContent = text.slice(end)
  node.replaceChildren(text.slice(0, end), unheard)
}
function send (message) { if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message)) }

function connect () {
  wanted = true
  ui.connect.textContent = 'Disconnect'
  status(attempt === 0 ? 'Connecting…' : `Reconnecting (attempt ${attempt})…`)
  ws = new WebSocket(signalingUrl)
  ws.onmessage = (event) => onMessage(JSON.parse(event.data), 'ws')
  ws.onclose = () => onClosed()
}

function disconnect () {
  wanted = false
  ui.connect.textContent = 'Connect'
  ws?.close()
  teardownPeer()
  stopMic()
  sessionId = null
  setState('idle', 'disconnected')
  status('Disconnected.')
}

function onClosed () {
  clearInterval(pingTimer)
  teardownPeer()
  ui.mic.disabled = true
  if (!wanted) return
  attempt++
  const delayMs = Math.min(10_000, 500 * 2 ** attempt)
  setState('idle', 'reconnecting')
  status(`Connection lost: reconnecting in ${Math.round(delayMs / 1000)} s (the conversation is kept).`)
  setTimeout(() => { if (wanted) connect() }, delayMs)
}

async function startPeer (iceServers) {
  pc = new RTCPeerConnection({ iceServers: iceServers ?? [] })
  channel = pc.createDataChannel('data', { ordered: true })
  channel.onmessage = (event) => onMessage(JSON.parse(event.data), 'channel')
  pc.addTransceiver('audio', { direction: 'recvonly' })
  pc.ontrack = (event) => {
    ui.speaker.srcObject = event.streams[0] ?? new MediaStream([event.track])
    ui.speaker.play().catch(() => status('Click anywhere to allow audio playback.'))
  }
  pc.onconnectionstatechange = () => { if (pc?.connectionState === 'failed') showError('The WebRTC connection failed.') }
  await negotiate()
}

/**
 * Sends an offer with complete SDP (waits up to 3 s for ICE gathering), as the published client does,
 * and resolves once its answer is applied: a second offer sent before that would get the first answer.
 */
async function negotiate () {
  const peer = pc
  await peer.setLocalDescription(await peer.createOffer())
  if (peer.iceGatheringState !== 'complete') {
    await new Promise((resolve) => {
      const done = () => { if (peer.iceGatheringState === 'complete') resolve() }
      peer.addEventListener('icegatheringstatechange', done)
      setTimeout(resolve, 3000)
    })
  }
  if (pc !== peer) throw new Error('the connection closed')
  const answered = new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(new Error('the server did not answer the offer')), 15_000)
    const settle = (error) => { clearTimeout(timer); answerWaiter = null; if (error) reject(error); else resolve() }
    answerWaiter = settle
  })
  send({ type: 'offer', signal: { type: 'offer', sdp: peer.localDescription.sdp } })
  await answered
}

function onAnswer (signal) {
  const settle = answerWaiter ?? (() => {})
  if (pc === null) return
  pc.setRemoteDescription(signal).then(() => settle(), (error) => settle(error))
}

function teardownPeer () {
  answerWaiter?.(new Error('the connection closed'))
  micSender = null
  channel?.close()
  pc?.close()
  pc = channel = null
}

async function startMic () {
  ui.mic.disabled = true
  try {
    micStream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } })
    const [track] = micStream.getAudioTracks()
    if (micSender !== null) {
      await micSender.replaceTrack(track) // same sender, same m-line: no renegotiation
    } else {
      micSender = pc.addTrack(track, micStream)
      await negotiate()
    }
  } finally {
    ui.mic.disabled = pc === null
  }
  ui.mic.textContent = 'Microphone off'
  ui.mic.classList.add('on')
  setState('listening', 'listening')
  status('Listening: speak, and speak over the answer to interrupt it.')
}

function stopMic () {
  micStream?.getTracks().forEach((track) => track.stop())
  micStream = null
  micSender?.replaceTrack(null).catch(() => {})
  ui.mic.textContent = 'Microphone on'
  ui.mic.classList.remove('on')
}

function onMessage (message, source) {
  // Payload events come on both transports: once the data channel is open, it is the one read.
  if (source === 'ws' && !SIGNALING.has(message.type) && channel?.readyState === 'open') return
  switch (message.type) {
    case 'ready': {
      const previous = sessionId
      sessionId = message.id
      clearInterval(pingTimer)
      pingTimer = setInterval(() => send({ type: 'ping', timestamp: Date.now() }), 15_000)
      if (previous !== null) {
        // Resume the earlier session (history kept); WebRTC restarts once the server answered.
        pendingReady = message
        send({ type: 'reconnect', sessionId: previous })
      } else {
        afterReady(message)
      }
      break
    }
    case 'reconnect-ack':
      sessionId = message.sessionId
      status(message.success ? 'Reconnected: the conversation continues.' : 'Reconnected with a new session (the old one had expired).')
      attempt = 0
      afterReady(pendingReady)
      break
    case 'signal': onAnswer(message.signal); break
    case 'ice': if (message.candidate !== null) pc?.addIceCandidate(message.candidate).catch(() => {}); break
    case 'speech-start': endAnswer(); setState('speaking-user', 'you are speaking'); break
    case 'speech-cancelled': setState('listening', 'listening'); break
    case 'speech-end': setState('thinking', 'thinking'); break
    case 'transcript':
      if (message.isFinal) { endAnswer(); ui.interim.textContent = ''; bubble('user', message.text) } else ui.interim.textContent = message.text
      break
    case 'llm-chunk':
      if (message.done) break
      assistantBubble ??= bubble('assistant', '')
      assistantBubble.textContent += message.content
      break
    case 'llm': if (assistantBubble !== null) assistantBubble.textContent = message.text; break
    case 'tts-start': setState('speaking', 'speaking'); break
    case 'tts-complete': assistantBubble = null; setState('listening', 'listening'); break
    case 'tts-cancelled':
      // llmrtc's own `heard`: the words played before the cut.
      if (assistantBubble !== null && typeof message.heard === 'string') markUnheard(assistantBubble, message.heard)
      endAnswer()
      // A failure while paused: no speech-start follows to move the label on.
      if (ui.state.classList.contains('paused')) setState('listening', 'listening')
      break
    // llmrtc's own: the answer paused while the server checks whether the user is interrupting.
    case 'tts-paused': setState('paused', 'paused — listening'); break
    case 'tts-resumed': setState('speaking', 'speaking'); break
    case 'tool-call-start': toolNames.set(message.callId, message.name); bubble('event', `tool ${message.name}…`); break
    case 'tool-call-end': {
      const name = toolNames.get(message.callId) ?? ''
      toolNames.delete(message.callId)
      bubble('event', `tool ${name}${name ? ' ' : ''}done in ${message.durationMs} ms${message.error ? `: ${message.error}` : ''}`)
      break
    }
    case 'stage-change': bubble('event', `stage ${message.from} → ${message.to} (${message.reason})`); break
    case 'metrics': {
      const t = message.timings
      ui.metrics.textContent = `last turn: transcript ${t.transcriptMs ?? '–'} ms · first token ${t.firstTokenMs ?? '–'} ms · first audio ${t.firstAudioOutMs ?? '–'} ms after you stopped`
      break
    }
    case 'error':
      showError(`${message.code}: ${message.message}`)
      if (message.code === 'WEBRTC_UNAVAILABLE') answerWaiter?.(new Error('WebRTC is not available on this server'))
      if (TURN_ENDING.has(message.code)) {
        // Nothing else of the turn comes: leave "thinking" (or "speaking") for what is true now.
        endAnswer()
        ui.interim.textContent = ''
        settle()
      }
      if (message.code === 'CONNECTION_FAILED') {
        // The server closed the peer: reconnect, which resumes the session on a new peer.
        answerWaiter?.(new Error('the server could not connect'))
        ws?.close()
      }
      break
  }
}

async function afterReady (ready) {
  if (ready === null) return
  pendingReady = null
  try {
    await startPeer(ready.iceServers)
    ui.mic.disabled = false
    attempt = 0
    if (micStream !== null) { stopMic(); await startMic() } else status('Connected. Turn the microphone on and speak.')
    if (micStream === null) setState('idle', 'connected')
  } catch (error) {
    // No peer left: the socket closed meanwhile, and the reconnect (or the disconnect) takes it from here.
    if (pc !== null) showError(`Could not start WebRTC: ${error.message}`)
  }
}

ui.connect.onclick = () => { if (wanted) disconnect(); else { attempt = 0; connect() } }
ui.mic.onclick = () => {
  if (micStream !== null) { stopMic(); setState('idle', 'connected'); status('Microphone off.') } else startMic().catch((error) => showError(`Microphone: ${error.message}`))
}
