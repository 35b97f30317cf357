import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { DeviceAudioFormat } from '../../lib/device/device-protocol.js'

/** What a device session keeps in `session.data.device` (persisted with the session, so a resume works on any server). */
export interface DeviceSessionData extends DeviceAudioFormat {
  /** SHA-256 of the current resume token, hex: the token itself is never stored. */
  resumeTokenHash: string
}

function hashOf (token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

/**
 * A new resume token for the session (each `start` rotates it: the previous one stops working), recorded
 * in `data.device` with the stream's format. Returns the token for the device's `ready`.
 */
export function issueResumeToken (data: Record<string, unknown>, format: DeviceAudioFormat): string {
  const token = randomBytes(32).toString('base64url')
  const device: DeviceSessionData = { codec: format.codec, sampleRate: format.sampleRate, resumeTokenHash: hashOf(token).toString('hex') }
  data.device = device
  return token
}

/** Whether `token` resumes the session whose data this is (compared in constant time). */
export function resumeTokenMatches (data: Record<string, unknown>, token: string): boolean {
  const stored = (data.device as Partial<DeviceSessionData> | undefined)?.resumeTokenHash
  if (typeof stored !== 'string') return false
  const expected = Buffer.from(stored, 'hex')
  const given = hashOf(token)
  return expected.length === given.length && timingSafeEqual(expected, given)
}
