import { writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { loadPlaybookModule } from '../../../lib/playbooks/load-playbook-module.js'
import { scratchDir } from '../../helpers/scratch-dir.js'

const PLAYBOOK_SOURCE = `{
  id: 'support',
  name: 'Support',
  initialStage: 'greet',
  stages: [
    { id: 'greet', name: 'Greeting', systemPrompt: 'Greet the caller.' },
    {
      id: 'lookup',
      name: 'Lookup',
      systemPrompt: 'Find the order.',
      tools: [{
        definition: { name: 'lookup_order', description: 'Find an order', parameters: { type: 'object', properties: { orderId: { type: 'string' } } } },
        handler: async ({ orderId }) => ({ orderId, status: 'shipped' })
      }]
    }
  ],
  transitions: [{ id: 'to-lookup', from: 'greet', condition: { type: 'llm_decision' }, action: { targetStage: 'lookup' } }]
}`

function moduleFile (dir: string, name: string, source: string): string {
  const file = join(dir, name)
  writeFileSync(file, source)
  return file
}

t.test('a module exporting the playbook as default or as `playbook` loads, relative to the working directory', async t => {
  const dir = scratchDir()
  const asDefault = moduleFile(dir, 'default.mjs', `export default ${PLAYBOOK_SOURCE}\n`)
  const asNamed = moduleFile(dir, 'named.mjs', `export const playbook = ${PLAYBOOK_SOURCE}\nexport const other = 1\n`)
  for (const file of [relative(process.cwd(), asDefault), asNamed]) {
    const playbook = await loadPlaybookModule(file)
    t.equal(playbook.id, 'support', file)
    t.same(await playbook.stages[1]?.tools?.[0]?.handler({ orderId: '42' }, undefined as never), { orderId: '42', status: 'shipped' }, 'tools keep their handlers')
  }
})

t.test('a missing file, a module that fails to import and a module without a playbook are LLMRTC_ERR_PLAYBOOK_LOAD', async t => {
  const dir = scratchDir()
  const missing = join(dir, 'missing.mjs')
  await t.rejects(loadPlaybookModule(missing), { code: 'LLMRTC_ERR_PLAYBOOK_LOAD', message: `Cannot load the playbook module ${missing}: the file ${missing} does not exist` })

  const broken = moduleFile(dir, 'broken.mjs', 'export default {\n')
  await t.rejects(loadPlaybookModule(broken), { code: 'LLMRTC_ERR_PLAYBOOK_LOAD', message: /^Cannot load the playbook module .*broken\.mjs: importing it failed \(/, cause: SyntaxError })

  const throwing = moduleFile(dir, 'throwing.mjs', 'throw new Error("no database")\n')
  await t.rejects(loadPlaybookModule(throwing), { code: 'LLMRTC_ERR_PLAYBOOK_LOAD', message: /importing it failed \(no database\)/ })

  const empty = moduleFile(dir, 'empty.mjs', 'export const stages = []\n')
  await t.rejects(loadPlaybookModule(empty), {
    code: 'LLMRTC_ERR_PLAYBOOK_LOAD',
    message: /empty\.mjs: it exports no playbook: expected `export default playbook` or `export const playbook`$/
  })
})

t.test('a module whose playbook is invalid fails validation', async t => {
  const dir = scratchDir()
  const invalid = moduleFile(dir, 'invalid.mjs', `const playbook = ${PLAYBOOK_SOURCE}\nplaybook.initialStage = 'welcome'\nexport default playbook\n`)
  await t.rejects(loadPlaybookModule(invalid), { code: 'LLMRTC_ERR_PLAYBOOK_INVALID', message: /^Invalid playbook "support": initialStage: / })
})
