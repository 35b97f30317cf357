import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import t from 'tap'

/*
 * A code block in the README or docs/ that follows `<!-- example: examples/<file> -->` must be that file,
 * word for word: the file is type-checked by `tsc -p tsconfig.json` (examples/ is in its include), so the
 * block shown to readers compiles under the repo's strict settings.
 */
const root = resolve(import.meta.dirname, '../..')
const MARKER = /<!-- example: (\S+) -->\n```(?:ts|typescript)\n([\s\S]*?)```\n/g

async function pages (): Promise<string[]> {
  const docs = (await readdir(join(root, 'docs'))).filter(name => name.endsWith('.md')).map(name => join('docs', name))
  return ['README.md', ...docs]
}

t.test('every marked code block in the README and docs/ is its example file', async t => {
  let blocks = 0
  for (const page of await pages()) {
    const text = await readFile(join(root, page), 'utf8')
    const markers = text.split('<!-- example: ').length - 1
    const matched = [...text.matchAll(MARKER)]
    t.equal(matched.length, markers, `${page}: every example marker is followed by a ts code block`)
    for (const [, file, code] of matched) {
      blocks++
      t.ok(file?.startsWith('examples/') === true && file.endsWith('.ts'), `${page}: ${String(file)} is a .ts file under examples/`)
      t.equal(code, await readFile(join(root, String(file)), 'utf8'), `${page}: the block marked ${String(file)} is the file`)
    }
  }
  t.ok(blocks > 0, 'the README\'s tool example is among them')
})

t.test('the README\'s tool example is a checked one', async t => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  t.match(readme, '<!-- example: examples/readme-tool.ts -->\n```ts\n')
})
