import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** Walks up from this file to the package root (works from plugins/ and from dist/plugins/). */
function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir)
  return dir
}

/**
 * A small voice page on the signaling path (`GET /` beside the WebSocket): connect, microphone, live
 * state, transcript, streamed answer, errors and latency, audio from the WebRTC track. Static files from
 * public/, no build step: index.html on the signaling path itself, the rest under `<dir>llmrtc-demo/`
 * beside it, both behind the context's prefix. Turned off with the umbrella's `demoPage: false`.
 */
async function llmrtcDemoPage (fastify: FastifyInstance, _opts: object): Promise<void> {
  const root = join(packageRoot(), 'public')
  const path = fastify.llmrtcConfig.path
  const prefix = `${path.slice(0, path.lastIndexOf('/') + 1)}llmrtc-demo/`

  // The WebSocket owns the signaling path's GET route, so index.html goes through its page handler. Its
  // assets are linked by their full URL: behind a prefix the page answers on `/voice` as on `/voice/`,
  // where a relative link would resolve differently.
  const html = await readFile(join(root, 'index.html'), 'utf8')
  const page = html.replaceAll('"llmrtc-demo/', `"${fastify.prefix}${prefix}`)
  fastify.llmrtcSignaling.servePage(async (_request, reply) => await reply.type('text/html; charset=utf-8').send(page))

  // In a context of its own, so nothing leaks into the user's app: without decorateReply, the user may
  // register @fastify/static too. index.html links its assets relative to the signaling path, so it is
  // not served again under the prefix.
  await fastify.register(async function llmrtcDemoAssets (assets) {
    await assets.register(fastifyStatic, { root, prefix, decorateReply: false, index: false, allowedPath: (file) => file !== '/index.html' })
  })
}

export default fp(llmrtcDemoPage, {
  name: 'llmrtc-demo-page',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-signaling'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtcSignaling'] }
})
