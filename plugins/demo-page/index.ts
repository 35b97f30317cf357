import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** Walks up from this file to the package root (works from plugins/ and from dist/plugins/). */
function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    try {
      readFileSync(join(dir, 'package.json'))
      return dir
    } catch {
      dir = dirname(dir)
    }
  }
  return dir
}

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'client.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8'
} as const

/**
 * A small voice page on the signaling path (`GET /` beside the WebSocket): connect, microphone, live
 * state, transcript, streamed answer, errors and latency, audio from the WebRTC track. Static files from
 * public/, read once at start; no build step. Turned off with the umbrella's `demoPage: false`.
 */
async function llmrtcDemoPage (fastify: FastifyInstance, _opts: object): Promise<void> {
  const root = join(packageRoot(), 'public')
  const content = Object.fromEntries(Object.keys(FILES).map(name => [name, readFileSync(join(root, name))])) as Record<keyof typeof FILES, Buffer>
  const path = fastify.llmrtcConfig.path
  const assets = `${path.slice(0, path.lastIndexOf('/') + 1)}llmrtc-demo/`

  fastify.llmrtcSignaling.servePage(async (_request, reply) => await reply.type(FILES['index.html']).send(content['index.html']))
  for (const name of ['client.js', 'style.css'] as const) {
    fastify.get(`${assets}${name}`, async (_request, reply) => await reply.type(FILES[name]).send(content[name]))
  }
}

export default fp(llmrtcDemoPage, {
  name: 'llmrtc-demo-page',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-signaling'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtcSignaling'] }
})
