import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A throwaway certificate for 127.0.0.1 and its private key (PEM), made for one test run. */
export interface TestCertificate {
  cert: string
  key: string
  /** Path of the certificate file (what NODE_EXTRA_CA_CERTS names). */
  certPath: string
}

const DIR_ENV = 'LLMRTC_TEST_TLS_DIR'

/** Whether `openssl` can be run here. */
export function opensslAvailable (): boolean {
  return spawnSync('openssl', ['version']).status === 0
}

/**
 * For mocks of APIs that are only reached over TLS (Cartesia's TTS WebSocket is always `wss:`): makes
 * the test process trust a self-signed certificate for 127.0.0.1 generated now with `openssl` (EC P-256,
 * valid one day, in a fresh temp dir; no key is ever committed). Node reads NODE_EXTRA_CA_CERTS only at
 * start-up, and both `fetch` and `ws` honour it, so the first call generates the certificate and re-runs
 * this test file with NODE_EXTRA_CA_CERTS set, then exits with its status (and deletes the files); in
 * the re-run it returns the certificate. Call it first thing in the file. Returns undefined, without
 * re-running, when openssl is missing: skip the TLS tests then.
 */
export function trustTestCertificate (): TestCertificate | undefined {
  const dir = process.env[DIR_ENV]
  if (dir !== undefined) {
    const certPath = join(dir, 'cert.pem')
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8'), certPath }
  }
  if (!opensslAvailable()) return undefined
  const fresh = mkdtempSync(join(tmpdir(), 'llmrtc-test-tls-'))
  try {
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(fresh, 'key.pem'), '-out', join(fresh, 'cert.pem')
    ], { encoding: 'utf8' })
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`)
    const result = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [DIR_ENV]: fresh, NODE_EXTRA_CA_CERTS: join(fresh, 'cert.pem') }
    })
    process.exitCode = result.status ?? 1
  } finally {
    rmSync(fresh, { recursive: true, force: true })
  }
  process.exit()
}
