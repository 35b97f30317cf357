/**
 * An existing Fastify app that adds llmrtc beside its own routes.
 *
 *   npm run build && node dist/example-server.js      (or: npx tsx example-server.ts)
 *
 * Listens on http://127.0.0.1:8787 (PORT overrides the port). The voice WebSocket is at ws://127.0.0.1:8787/,
 * so the app keeps its own routes off `GET /` (or sets llmrtc's `path` option).
 */
import Fastify from 'fastify'
import llmrtc from './index.js'

const app = Fastify({ logger: true })

// The app's own routes.
app.get('/api/hello', async function hello () {
  return { hello: 'world' }
})

await app.register(llmrtc, {
  systemPrompt: 'You are the voice of a small bakery. Answer in one or two short spoken sentences.',
  hooks: {
    onError (error, context) {
      app.log.warn({ err: error, code: context.code, component: context.component }, 'llmrtc error')
    }
  }
})

// After registration, more hooks can be added through the decorator.
app.llmrtc.addHook('onConnection', (sessionId) => {
  app.log.info({ sessionId }, 'caller connected')
})

const port = process.env.PORT !== undefined && process.env.PORT !== '' ? Number(process.env.PORT) : 8787
await app.listen({ port, host: '127.0.0.1' })

// Exit explicitly once closed: the WebRTC library (@roamhq/wrtc) can crash at a natural process exit.
let closing = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return
    closing = true
    app.close().then(() => process.exit(0), (err: unknown) => {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  })
}
