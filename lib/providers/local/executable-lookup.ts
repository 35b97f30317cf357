import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, dirname, isAbsolute, join } from 'node:path'

/**
 * Where `name` is found among the directories of `searchPath` (PATH syntax), as an absolute path, or
 * undefined. A name containing a slash is checked as is. Synchronous: it runs once, when providers are
 * chosen at start-up, never per call.
 */
export function findExecutable (name: string, searchPath: string | undefined): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function isExecutable (path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Whether pocketsphinx's default US English acoustic model is installed beside `binary`: pocketsphinx
 * looks for it under its install prefix (`<prefix>/share/pocketsphinx/model/en-us/en-us`), which is
 * where Debian's `pocketsphinx-en-us`, Homebrew and source builds put it.
 */
export function hasPocketsphinxModel (binary: string): boolean {
  const prefix = dirname(dirname(binary))
  return existsSync(join(prefix, 'share', 'pocketsphinx', 'model', 'en-us', 'en-us', 'mdef'))
}
