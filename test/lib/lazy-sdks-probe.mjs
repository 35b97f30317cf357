// Child process of lazy-sdks.test.ts: which packages a process that imports the built llmrtc (dist/, as
// users get it; npm test builds first) loads, at import and after `ready()` of an app registered with the
// options in argv[2]. Prints one JSON line per phase. Plain JavaScript: nothing to transpile at start.
import { registerHooks } from 'node:module'

const loaded = new Set()
// Every import and require, also those inside the SDKs and llmrtc's dynamic imports, resolves here first.
registerHooks({
  resolve (specifier, context, next) {
    const resolved = next(specifier, context)
    // The package of the file: what follows the last node_modules/ (a scoped name has two parts).
    const at = resolved.url.lastIndexOf('/node_modules/')
    if (at !== -1) {
      const [scope = '', name = ''] = resolved.url.slice(at + '/node_modules/'.length).split('/')
      loaded.add(scope.startsWith('@') ? `${scope}/${name}` : scope)
    }
    return resolved
  }
})

const { default: Fastify } = await import('fastify')
const { default: llmrtc } = await import('../../dist/plugins/llmrtc/index.js')
console.log(JSON.stringify({ phase: 'import', loaded: [...loaded].sort() }))
const options = process.argv[2]
if (options !== undefined) {
  const app = Fastify({ logger: false })
  await app.register(llmrtc, { env: false, webrtc: false, ...JSON.parse(options) })
  await app.ready()
  console.log(JSON.stringify({ phase: 'ready', loaded: [...loaded].sort(), providers: [app.llmrtcProviders.llm.name, app.llmrtcProviders.stt.name, app.llmrtcProviders.tts.name] }))
  await app.close()
}
