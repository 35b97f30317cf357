#!/usr/bin/env node
// The system packages `npm test` needs, checked before it runs (npm's `pretest`) and installed by
// .ci/run through this same script: the one list of them is SYSTEM_PACKAGES below.
// Missing packages are installed when they can be (Debian or Ubuntu, as root, with apt-get); otherwise
// the script stops at once and prints the exact command to run.
import { spawnSync } from 'node:child_process'
import { pathToFileURL } from 'node:url'

/** Debian package names, each with why the tests need it and a command that shows it is there. */
export const SYSTEM_PACKAGES = [
  // Real speech fixtures for the VAD and end-to-end tests; espeak-ng is also the local TTS.
  { name: 'espeak-ng', command: 'espeak-ng' },
  { name: 'sox', command: 'sox' },
  // The local STT and its US English model.
  { name: 'pocketsphinx', command: 'pocketsphinx' },
  { name: 'pocketsphinx-en-us', command: null },
  // `ip`, for the loopback-only network namespace of the WebRTC tests.
  { name: 'iproute2', command: 'ip' },
  // The voice page's browser tests (driven by playwright-core).
  { name: 'chromium', command: 'chromium' },
  // The Redis session store tests (each test file starts its own redis-server on a loopback port).
  { name: 'redis-server', command: 'redis-server' },
  // The deployment test: two servers behind nginx with docs/deployment.md's configuration (its own nginx
  // on a loopback port; the package's system service is not used).
  { name: 'nginx', command: 'nginx' }
]

/** The install command for `names`, as a person runs it (`sudo` unless root). */
export function installCommand (names, { root }) {
  const sudo = root ? '' : 'sudo '
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${names.join(' ')}`
}

function defaultRun (command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options })
  return { status: result.error ? null : result.status, stdout: result.stdout ?? '' }
}

/** Whether dpkg knows the package as installed. */
function dpkgInstalled (name, run) {
  // dpkg-query's own format field, not a template string.
  const result = run('dpkg-query', ['-W', '-f=$' + '{Status}', name])
  return result.status === 0 && result.stdout.includes('install ok installed')
}

/** Whether `command` is on the PATH (for systems without dpkg). */
function onPath (command, run) {
  return run('sh', ['-c', `command -v ${command}`]).status === 0
}

/**
 * Checks the packages; installs the missing ones when it can. Returns the exit code.
 * `run`, `root`, `log` and `platform` are injectable for tests.
 */
export function checkSystemDeps ({
  run = defaultRun,
  root = process.getuid?.() === 0,
  platform = process.platform,
  log = (line) => process.stderr.write(line + '\n')
} = {}) {
  const hasDpkg = platform === 'linux' && run('dpkg-query', ['--version']).status === 0
  if (!hasDpkg) {
    const missing = SYSTEM_PACKAGES.filter((p) => p.command !== null && !onPath(p.command, run))
    if (missing.length === 0) return 0
    log(`npm test needs these programs, which are not on the PATH: ${missing.map((p) => p.command).join(', ')}.`)
    log(`On Debian or Ubuntu: ${installCommand(SYSTEM_PACKAGES.map((p) => p.name), { root })}`)
    return 1
  }
  const missing = SYSTEM_PACKAGES.filter((p) => !dpkgInstalled(p.name, run)).map((p) => p.name)
  if (missing.length === 0) return 0
  const canInstall = root && run('apt-get', ['--version']).status === 0
  if (!canInstall) {
    log(`npm test needs Debian packages that are not installed: ${missing.join(' ')}. Install them with:`)
    log(`  ${installCommand(missing, { root })}`)
    return 1
  }
  log(`Installing the Debian packages npm test needs: ${missing.join(' ')}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...missing]]) {
    const result = run('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] })
    if (result.status !== 0) {
      log(`apt-get ${args[0]} failed (exit ${result.status}). Run it yourself:`)
      log(`  ${installCommand(missing, { root })}`)
      return 1
    }
  }
  return 0
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = checkSystemDeps()
}
