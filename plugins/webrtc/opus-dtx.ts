/**
 * Asks for Opus discontinuous transmission (DTX) on the server's outbound audio by adding `usedtx=1` to
 * each Opus payload type of the client's offer before the server applies it. `usedtx` is the receiver's
 * preference (RFC 7587 §7): the answerer's encoder follows the offer's, so the client's own encoder is
 * unchanged. With DTX the server's encoder still sees every 10 ms frame (RTP timestamps keep pace with
 * time, so the receiver's jitter buffer is not disturbed), but while the output is silent it sends a
 * comfort-noise packet every 400 ms instead of 50 packets a second: no packetizing, pacing, SRTP or
 * sending for silence, and nothing for the client to decode.
 *
 * An Opus payload type whose fmtp already states `usedtx` (either value) is left as the client wrote it.
 * An Opus payload type without an fmtp line gets one. Other codecs and lines are untouched.
 */
export function withOpusDtx (sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  const lines = sdp.split(eol)
  const opus = new Set<string>()
  for (const line of lines) {
    const match = /^a=rtpmap:(\d+) opus\//i.exec(line)
    if (match !== null) opus.add(match[1] as string)
  }
  if (opus.size === 0) return sdp
  const withFmtp = new Set<string>()
  const out: string[] = []
  for (const line of lines) {
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line)
    if (fmtp !== null && opus.has(fmtp[1] as string)) {
      withFmtp.add(fmtp[1] as string)
      const params = fmtp[2] as string
      out.push(/(^|;)\s*usedtx=/i.test(params) ? line : `${line};usedtx=1`)
      continue
    }
    out.push(line)
  }
  // Opus payload types with no fmtp line: one right after their rtpmap.
  const result: string[] = []
  for (const line of out) {
    result.push(line)
    const match = /^a=rtpmap:(\d+) opus\//i.exec(line)
    if (match !== null && !withFmtp.has(match[1] as string)) result.push(`a=fmtp:${match[1] as string} usedtx=1`)
  }
  return result.join(eol)
}
