import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { LLMRTC_ERR_PLAYBOOK_LOAD } from '../errors.js'
import type { Playbook } from './types.js'
import { validatePlaybook } from './validate-playbook.js'

/**
 * Loads the playbook module named by the CLI's `PLAYBOOK` variable: a path resolved against the working
 * directory, whose module exports the playbook as `export default` or `export const playbook` (its tools
 * carry their handlers). Throws LLMRTC_ERR_PLAYBOOK_LOAD when the module cannot be imported or exports no
 * playbook, and LLMRTC_ERR_PLAYBOOK_INVALID when the playbook fails validation. Warnings are not returned:
 * whoever registers the playbook validates it again (it is cheap) and logs them.
 */
export async function loadPlaybookModule (path: string): Promise<Playbook> {
  const file = resolve(process.cwd(), path)
  if (!existsSync(file)) throw new LLMRTC_ERR_PLAYBOOK_LOAD(path, `the file ${file} does not exist`)
  let module: Record<string, unknown>
  try {
    module = await import(pathToFileURL(file).href) as Record<string, unknown>
  } catch (error) {
    throw new LLMRTC_ERR_PLAYBOOK_LOAD(path, `importing it failed (${error instanceof Error ? error.message : String(error)})`, { cause: error })
  }
  const playbook = module.default ?? module.playbook
  if (playbook === undefined) {
    throw new LLMRTC_ERR_PLAYBOOK_LOAD(path, 'it exports no playbook: expected `export default playbook` or `export const playbook`')
  }
  return validatePlaybook(playbook).playbook
}
