import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { freePort } from './free-port.js'
import { scratchDir } from './scratch-dir.js'

/** Debian's nginx (package nginx, binary in /usr/sbin), or NGINX, or `nginx` on the PATH elsewhere. */
export const NGINX = process.env.NGINX ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx')

const deploymentDoc = fileURLToPath(new URL('../../docs/deployment.md', import.meta.url))

/** The ```nginx block of docs/deployment.md's "### nginx" section, as written (http-context directives). */
export function docsNginxBlock (): string {
  const doc = readFileSync(deploymentDoc, 'utf8')
  const section = doc.slice(doc.indexOf('\n### nginx\n'))
  const block = /```nginx\n([\s\S]*?)```/.exec(section)?.[1]
  if (!doc.includes('\n### nginx\n') || block === undefined) throw new Error('docs/deployment.md has no ```nginx block under "### nginx"')
  return block
}

/**
 * Replaces each `pattern` (global patterns: every match) in `text`, and throws when one matches nothing:
 * a docs block that changed shape must fail the test, not run a configuration the docs do not show.
 */
function substitute (text: string, substitutions: Array<{ what: string, pattern: RegExp, by: string, count?: number }>): string {
  let out = text
  for (const { what, pattern, by, count = 1 } of substitutions) {
    const found = out.match(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))?.length ?? 0
    if (found !== count) throw new Error(`docs/deployment.md's nginx block has ${found} ${what} (${String(pattern)}), expected ${count}: update the substitutions of test/helpers/nginx.ts`)
    out = out.replace(pattern, by)
  }
  return out
}

/**
 * The docs' block made to run on loopback, by mechanical substitutions only: the upstream's example
 * servers become `upstreams`, the TLS `listen` line becomes plain HTTP on `listen`, and the certificate
 * lines go (no TLS). Everything else (the sticky hash, the upgrade headers, the timeouts,
 * `proxy_next_upstream`) is the docs' text.
 */
export function loopbackNginxBlock (block: string, { upstreams, listen }: { upstreams: string[], listen: string }): string {
  return substitute(block, [
    { what: 'runs of upstream server lines', pattern: /^( *)server \d+\.\d+\.\d+\.\d+:\d+;\n(?:\1server \d+\.\d+\.\d+\.\d+:\d+;\n)*/m, by: upstreams.map(address => `$1server ${address};\n`).join('') },
    { what: 'TLS listen lines', pattern: /^( *)listen 443 ssl;$/m, by: `$1listen ${listen};` },
    { what: 'certificate lines', pattern: /^ *ssl_certificate(?:_key)? +\S+;\n/gm, by: '', count: 2 }
  ])
}

/** The docs' block as written, with its certificate and key paths pointing at `cert` and `key`. */
export function docsBlockWithCertificate (block: string, { cert, key }: { cert: string, key: string }): string {
  return substitute(block, [
    { what: 'ssl_certificate lines', pattern: /^( *ssl_certificate +)\S+;$/m, by: `$1${cert};` },
    { what: 'ssl_certificate_key lines', pattern: /^( *ssl_certificate_key +)\S+;$/m, by: `$1${key};` }
  ])
}

/**
 * A whole nginx.conf around http-context directives, as Debian's nginx.conf includes conf.d/ inside its
 * `http {}`, with every file nginx writes inside `prefix` (the temp paths default to /var/lib/nginx). The
 * access log names the upstreams each request tried and their statuses.
 */
export function wholeNginxConfig (httpBlock: string, prefix: string): string {
  const path = (name: string): string => join(prefix, name)
  return `worker_processes 1;
events { worker_connections 64; }
http {
    log_format upstreams '$request_method $uri $status upstream=$upstream_addr upstream_status=$upstream_status';
    access_log ${path('access.log')} upstreams;
    client_body_temp_path ${path('client_body')};
    proxy_temp_path ${path('proxy')};
    fastcgi_temp_path ${path('fastcgi')};
    uwsgi_temp_path ${path('uwsgi')};
    scgi_temp_path ${path('scgi')};

${httpBlock.replace(/^(?=.)/gm, '    ')}}
`
}

/** nginx's arguments: its own prefix, the config, in the foreground, logging to stderr. */
function nginxArgs (prefix: string, conf: string, extra: string[] = []): string[] {
  return ['-e', 'stderr', '-p', `${prefix}/`, '-c', conf, '-g', `daemon off; pid ${join(prefix, 'nginx.pid')}; error_log stderr;`, ...extra]
}

/** `nginx -t` on a whole config: its exit status and output. */
export function nginxTest (config: string): { status: number | null, output: string } {
  const prefix = scratchDir()
  const conf = join(prefix, 'nginx.conf')
  writeFileSync(conf, wholeNginxConfig(config, prefix))
  const result = spawnSync(NGINX, nginxArgs(prefix, conf, ['-t']), { encoding: 'utf8' })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

export interface RunningNginx {
  port: number
  /** The access log's lines so far (one per finished request; a WebSocket's once it closed). */
  accessLog: () => string[]
  output: () => string
}

/**
 * Starts nginx in the foreground with its own prefix (a scratch dir) on a free loopback port, serving
 * `httpBlock(listen)` (http-context directives for that `listen` address), waits until the port accepts
 * connections, and stops it (SIGTERM to the master, which stops its workers) at teardown.
 */
export async function startNginx (t: Test, httpBlock: (listen: string) => string): Promise<RunningNginx> {
  let lastError: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    const prefix = scratchDir()
    const port = await freePort()
    const conf = join(prefix, 'nginx.conf')
    writeFileSync(conf, wholeNginxConfig(httpBlock(`127.0.0.1:${port}`), prefix))
    const child = spawn(NGINX, nginxArgs(prefix, conf), { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => { child.kill('SIGKILL') }, 10_000)
      await exited
      clearTimeout(timer)
    }
    try {
      await waitForListening(port, () => child.exitCode !== null || child.signalCode !== null)
      t.teardown(stop)
      const accessLog = (): string[] => {
        const file = join(prefix, 'access.log')
        return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(line => line !== '') : []
      }
      return { port, accessLog, output: () => output }
    } catch (err) {
      lastError = new Error(`nginx on port ${port} did not start: ${(err as Error).message}\n${output}`)
      await stop()
      if (!/Address already in use/.test(output)) break
    }
  }
  throw lastError
}

async function waitForListening (port: number, gone: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (gone()) throw new Error('nginx exited')
    const connected = await new Promise<boolean>(resolve => {
      const socket = createConnection({ port, host: '127.0.0.1' })
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { resolve(false) })
    })
    if (connected && !gone()) return
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  throw new Error('not listening within 10 s')
}
