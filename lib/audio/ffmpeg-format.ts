/** Containers llmrtc decodes through ffmpeg, told apart by their first bytes. */
export type CompressedAudioFormat = 'webm' | 'ogg' | 'mp3' | 'wav' | 'flac'

/** ffmpeg's demuxer for each container (`-f`). */
export const FFMPEG_DEMUXERS: Record<CompressedAudioFormat, string> = {
  webm: 'matroska',
  ogg: 'ogg',
  mp3: 'mp3',
  wav: 'wav',
  flac: 'flac'
}

/**
 * The container of `bytes` from its magic number: WebM/Matroska (EBML header), Ogg (`OggS`, Opus or
 * Vorbis inside), MP3 (an ID3 tag or an MPEG audio frame sync), WAV (`RIFF…WAVE`, any sample format) or
 * FLAC (`fLaC`). Undefined for anything else, which is never handed to ffmpeg.
 */
export function detectAudioFormat (bytes: Buffer): CompressedAudioFormat | undefined {
  if (bytes.length < 4) return undefined
  if (bytes.readUInt32BE(0) === 0x1A45DFA3) return 'webm'
  const magic = bytes.toString('latin1', 0, 4)
  if (magic === 'OggS') return 'ogg'
  if (magic === 'fLaC') return 'flac'
  if (magic === 'RIFF' && bytes.length >= 12 && bytes.toString('latin1', 8, 12) === 'WAVE') return 'wav'
  if (magic.startsWith('ID3')) return 'mp3'
  // An MPEG audio frame: 11 sync bits, a valid version (not 01), layer III (01), and a bitrate index that is not 1111.
  const b1 = bytes[1] as number
  if (bytes[0] === 0xFF && (b1 & 0xE0) === 0xE0 && (b1 & 0x18) !== 0x08 && (b1 & 0x06) === 0x02 && ((bytes[2] as number) & 0xF0) !== 0xF0) return 'mp3'
  return undefined
}
