import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tls from 'node:tls'

// Node >= 22.19 and 23.8 (not in @types/node 20).
const { getCACertificates, setDefaultCACertificates } = tls as unknown as {
  getCACertificates?: (type: 'default') => string[]
  setDefaultCACertificates?: (certificates: string[]) => void
}

/** A throwaway certificate for 127.0.0.1 and its private key (PEM), made for one test run. */
export interface TestCertificate {
  cert: string
  key: string
}

/** Whether `openssl` can be run here. */
export function opensslAvailable (): boolean {
  return spawnSync('openssl', ['version']).status === 0
}

/**
 * For mocks of APIs that are only reached over TLS (Cartesia's TTS WebSocket is always `wss:`): makes
 * this process trust a self-signed certificate for 127.0.0.1 generated now with `openssl` (EC P-256,
 * valid one day, in a temp dir deleted at once; no key is ever committed). The certificate is added to
 * the process's default CA list (`tls.setDefaultCACertificates`), which `fetch`, `https` and `ws` use.
 * Returns undefined when openssl is missing, or on a Node without `tls.setDefaultCACertificates`
 * (before 22.19): skip the TLS tests then.
 */
export function trustTestCertificate (): TestCertificate | undefined {
  if (getCACertificates === undefined || setDefaultCACertificates === undefined || !opensslAvailable()) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'llmrtc-test-tls-'))
  try {
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')
    ], { encoding: 'utf8' })
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`)
    const certificate = { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') }
    setDefaultCACertificates([...getCACertificates('default'), certificate.cert])
    return certificate
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
