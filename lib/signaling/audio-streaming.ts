import type { ConnectionContext } from './message-router.js'

/** Connections whose microphone streams over the signaling socket itself (plugins/device, `audio-stream-start`). */
const streaming = new WeakSet<ConnectionContext>()

/** Marks (or unmarks) the connection as streaming its audio over the socket. */
export function setStreamingAudio (ctx: ConnectionContext, on: boolean): void {
  if (on) streaming.add(ctx)
  else streaming.delete(ctx)
}

/** Whether the connection streams its audio over the socket: it may not have WebRTC media beside it. */
export function isStreamingAudio (ctx: ConnectionContext): boolean {
  return streaming.has(ctx)
}
