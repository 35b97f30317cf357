import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, extname, join, relative, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { LLMRTC_ERR_EVAL_SCENARIO } from '../errors.js'
import type { Scenario } from './scenario.js'
import { validateScenario } from './validate-scenario.js'

const EXTENSIONS = new Set(['.yaml', '.yml', '.json'])

/**
 * The scenarios in `paths`: files (any extension, parsed as JSON when it ends in .json, else YAML) and
 * directories (their .yaml, .yml and .json files, subdirectories included, in name order). Throws
 * LLMRTC_ERR_EVAL_SCENARIO for a path that does not exist, a directory without scenarios, a file that
 * does not parse, or one that is not a scenario; file names in messages are relative to `cwd`.
 */
export async function loadScenarios (paths: readonly string[], cwd = process.cwd()): Promise<Scenario[]> {
  const files: string[] = []
  for (const path of paths) {
    const full = resolve(cwd, path)
    let info
    try {
      info = await stat(full)
    } catch {
      throw new LLMRTC_ERR_EVAL_SCENARIO(path, 'no such file or directory')
    }
    if (!info.isDirectory()) {
      files.push(full)
      continue
    }
    const found = (await readdir(full, { recursive: true })).filter(name => EXTENSIONS.has(extname(name))).sort()
    if (found.length === 0) throw new LLMRTC_ERR_EVAL_SCENARIO(path, 'the directory holds no .yaml, .yml or .json file')
    files.push(...found.map(name => join(full, name)))
  }
  return await Promise.all(files.map(async file => {
    const shown = relative(cwd, file) || file
    return parseScenario(await readFile(file, 'utf8'), shown)
  }))
}

/** Parses one scenario file's text (JSON when `file` ends in .json, else YAML) and validates it. */
export function parseScenario (text: string, file: string): Scenario {
  let data: unknown
  try {
    data = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true })
  } catch (err) {
    throw new LLMRTC_ERR_EVAL_SCENARIO(file, `it does not parse as ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0] ?? ''}`, { cause: err })
  }
  return validateScenario(data, file, basename(file, extname(file)))
}
