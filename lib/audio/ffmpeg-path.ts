import { createRequire } from 'node:module'

let resolved: string | undefined

/**
 * The ffmpeg binary: the one inside the npm package @ffmpeg-installer/ffmpeg (shipped in the registry
 * package for this platform, nothing downloaded at install), else `ffmpeg` on the PATH.
 */
export function ffmpegPath (): string {
  if (resolved !== undefined) return resolved
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path?: unknown }
    resolved = typeof installer.path === 'string' ? installer.path : 'ffmpeg'
  } catch {
    // The package is missing, or has no binary for this platform.
    resolved = 'ffmpeg'
  }
  return resolved
}
