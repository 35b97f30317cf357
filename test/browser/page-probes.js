/* global AudioContext, MediaStream, MutationObserver */
// Installed in the voice page before its own script (page.addInitScript) by test/helpers/browser.ts,
// so the page itself carries no test hook. Plain browser JavaScript: the TypeScript project has no DOM
// types, and functions compiled by tsx cannot always be serialized into a page.
(() => {
  const probe = { messages: [], maxRms: 0, meter: false }
  window.llmrtcTest = probe

  // Every server message reaches the page on its WebSocket (payload events also come on the data
  // channel); record them all, in order.
  const NativeWebSocket = window.WebSocket
  window.WebSocket = class extends NativeWebSocket {
    constructor (url, protocols) {
      super(url, protocols)
      this.addEventListener('message', (event) => { probe.messages.push(JSON.parse(event.data)) })
    }
  }

  // What the page read and showed, in the order it happened: each message on the data channel (which
  // the page reads once it is open) as "message <type>", each change of the state label as "state <label>".
  // The probe's listener is added before the page's, so a message comes before the state it leads to.
  probe.timeline = []
  document.addEventListener('DOMContentLoaded', () => {
    const state = document.getElementById('state')
    new MutationObserver(() => { probe.timeline.push(`state ${state.textContent}`) }).observe(state, { childList: true, characterData: true, subtree: true })
  })

  // The page's peer connections, newest last, for diagnostics.
  probe.peers = []
  const NativePeerConnection = window.RTCPeerConnection
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor (config) {
      super(config)
      probe.peers.push(this)
    }

    createDataChannel (...args) {
      const channel = super.createDataChannel(...args)
      channel.addEventListener('message', (event) => { probe.timeline.push(`message ${JSON.parse(event.data).type}`) })
      return channel
    }
  }

  /** The newest peer connection's state and the audio bytes it sent and received. */
  probe.peerReport = async () => {
    const pc = probe.peers.at(-1)
    if (pc === undefined) return 'no peer connection'
    let sent = 0
    let received = 0
    ;(await pc.getStats()).forEach((report) => {
      if (report.type === 'outbound-rtp') sent += report.bytesSent ?? 0
      if (report.type === 'inbound-rtp') received += report.bytesReceived ?? 0
    })
    return `peer ${probe.peers.length}: ${pc.connectionState}, ${pc.getSenders().filter((s) => s.track !== null).length} track(s) sent, ${sent} bytes sent, ${received} received`
  }

  /** The loudest 20 ms window played in `selector` (an audio element) from now on, as RMS in [0, 1]. */
  probe.startLevelMeter = async (selector) => {
    if (probe.meter) return
    probe.meter = true
    const element = document.querySelector(selector)
    const context = new AudioContext()
    await context.resume()
    const analyser = context.createAnalyser()
    analyser.fftSize = 1024
    const samples = new Float32Array(analyser.fftSize)
    let stream = null
    let source = null
    setInterval(() => {
      // The page gives the element a new stream on every (re)connection.
      if (element.srcObject instanceof MediaStream && element.srcObject !== stream) {
        stream = element.srcObject
        source?.disconnect()
        source = context.createMediaStreamSource(stream)
        source.connect(analyser)
      }
      analyser.getFloatTimeDomainData(samples)
      let sum = 0
      for (const sample of samples) sum += sample * sample
      probe.maxRms = Math.max(probe.maxRms, Math.sqrt(sum / samples.length))
    }, 20)
  }

  /** The conversation as shown: "<classes>: <text>" per bubble. */
  probe.bubbles = () => [...document.querySelectorAll('.bubble')].map((node) => `${node.className}: ${node.textContent}`)
})()
