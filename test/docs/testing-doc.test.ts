import { readFile } from 'node:fs/promises'
import t from 'tap'

const root = new URL('../../', import.meta.url)

t.test('the example in docs/testing.md is test/testing/my-app.test.ts, with the package\'s names for its imports', async t => {
  const page = await readFile(new URL('docs/testing.md', root), 'utf8')
  const block = /<!-- test-example: test\/testing\/my-app\.test\.ts -->\n```ts\n([\s\S]*?)```\n/.exec(page)?.[1]
  const file = await readFile(new URL('test/testing/my-app.test.ts', root), 'utf8')
  const asUsers = file
    .replace("from '../../testing/index.js'", "from '@llmrtc/llmrtc-backend/testing'")
    .replace("from '../../index.js'", "from '@llmrtc/llmrtc-backend'")
  t.not(asUsers, file, 'the file imports the package through relative paths')
  t.equal(block, asUsers)
})
