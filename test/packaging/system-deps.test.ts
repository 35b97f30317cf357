import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import semver from 'semver'
import t from 'tap'
// @ts-expect-error: a plain .mjs script (npm's pretest), without type declarations
import { SYSTEM_PACKAGES, checkSystemDeps } from '../../scripts/check-system-deps.mjs'

const root = fileURLToPath(new URL('../../', import.meta.url))
const names: string[] = (SYSTEM_PACKAGES as Array<{ name: string }>).map(p => p.name)

interface Call { command: string, args: string[] }
/** A fake spawnSync: dpkg knows `installed`; apt-get exits with `aptStatus`. */
function fakeSystem (installed: string[], { aptStatus = 0, dpkg = true } = {}): { calls: Call[], run: (command: string, args: string[]) => { status: number | null, stdout: string } } {
  const calls: Call[] = []
  return {
    calls,
    run: (command, args) => {
      calls.push({ command, args })
      if (command === 'dpkg-query') {
        if (!dpkg) return { status: null, stdout: '' }
        if (args[0] === '--version') return { status: 0, stdout: 'dpkg-query 1.21' }
        const name = args.at(-1) ?? ''
        return installed.includes(name) ? { status: 0, stdout: 'install ok installed' } : { status: 1, stdout: '' }
      }
      if (command === 'apt-get') return { status: args[0] === '--version' ? 0 : aptStatus, stdout: '' }
      if (command === 'sh') return { status: installed.some(n => args[1]?.endsWith(` ${n}`)) ? 0 : 1, stdout: '' }
      return { status: 1, stdout: '' }
    }
  }
}

t.test('the list has every Debian package the tests use, and .ci/run installs through the same script', async t => {
  t.same([...names].sort(), ['chromium', 'espeak-ng', 'iproute2', 'nginx', 'pocketsphinx', 'pocketsphinx-en-us', 'redis-server', 'sox'])
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts.pretest, 'node scripts/check-system-deps.mjs', 'npm test runs it first')
  t.match(readFileSync(join(root, '.ci/run'), 'utf8'), /\nnode scripts\/check-system-deps\.mjs\n/, '.ci/run runs it (one list)')
})

t.test('with every package installed it passes without calling apt-get', async t => {
  const system = fakeSystem(names)
  const lines: string[] = []
  t.equal(checkSystemDeps({ run: system.run, root: false, platform: 'linux', log: (l: string) => lines.push(l) }), 0)
  t.same(lines, [])
  t.notOk(system.calls.some(c => c.command === 'apt-get'))
})

t.test('not root, a missing package stops at once with the exact command to run', async t => {
  const system = fakeSystem(names.filter(n => n !== 'chromium' && n !== 'sox'))
  const lines: string[] = []
  t.equal(checkSystemDeps({ run: system.run, root: false, platform: 'linux', log: (l: string) => lines.push(l) }), 1)
  t.same(lines, [
    'npm test needs Debian packages that are not installed: sox chromium. Install them with:',
    '  sudo apt-get update && sudo apt-get install -y --no-install-recommends sox chromium'
  ])
  t.notOk(system.calls.some(c => c.command === 'apt-get' && c.args[0] !== '--version'), 'it installs nothing itself')
})

t.test('as root it installs exactly the missing packages with apt-get', async t => {
  const system = fakeSystem(names.filter(n => n !== 'redis-server'))
  t.equal(checkSystemDeps({ run: system.run, root: true, platform: 'linux', log: () => {} }), 0)
  t.same(system.calls.filter(c => c.command === 'apt-get' && c.args[0] !== '--version').map(c => c.args), [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'redis-server']
  ])
})

t.test('as root, a failed apt-get fails with the command to run', async t => {
  const lines: string[] = []
  t.equal(checkSystemDeps({ run: fakeSystem([], { aptStatus: 100 }).run, root: true, platform: 'linux', log: (l: string) => lines.push(l) }), 1)
  t.match(lines.join('\n'), /apt-get update failed \(exit 100\)\. Run it yourself:\n {2}apt-get update && apt-get install -y --no-install-recommends espeak-ng/)
})

t.test('without dpkg it checks the programs on the PATH and names the missing ones', async t => {
  const lines: string[] = []
  const present = ['espeak-ng', 'sox', 'pocketsphinx', 'ip', 'redis-server', 'nginx']
  t.equal(checkSystemDeps({ run: fakeSystem(present, { dpkg: false }).run, root: false, platform: 'darwin', log: (l: string) => lines.push(l) }), 1)
  t.equal(lines[0], 'npm test needs these programs, which are not on the PATH: chromium.')
})

t.test('engines.node is within what every runtime dependency declares (package-lock.json)', async t => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean, engines?: { node?: string } | string[] }> }
  let checked = 0
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node
    if (path === '' || entry.dev === true || range === undefined) continue
    checked++
    if (!semver.subset(pkg.engines.node, range)) t.fail(`${path} needs node ${range}, which engines "${pkg.engines.node}" does not guarantee`)
  }
  t.ok(checked > 10, `${checked} runtime packages declare engines.node`)
})
