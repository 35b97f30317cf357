import type { FastifyInstance } from 'fastify'

type Listener = (...args: unknown[]) => void

/**
 * When the app has no @fastify/websocket yet, llmrtc registers its own in its encapsulated routes context:
 * at the app's root, its decorators would make an app's own registration after llmrtc fail. Two
 * @fastify/websocket instances each route every upgrade through Fastify, and the second one finds the socket
 * taken (a warning per connection), so if the app registered its own after llmrtc, llmrtc stops listening
 * and the app's instance routes every upgrade, llmrtc's route included (that route still upgrades with
 * llmrtc's instance). Returns an `onReady` hook that does so, and that gives an app without its own
 * instance llmrtc's `injectWS` and `websocketServer`, as if llmrtc had registered it at the root.
 */
export function shareWebSocket (app: FastifyInstance, routes: FastifyInstance, upgradeListenersBefore: readonly Function[]): () => Promise<void> {
  const ours = app.server.listeners('upgrade').filter(listener => !upgradeListenersBefore.includes(listener)) as Listener[]
  return async function shareLLMRTCWebSocket () {
    if (ours.length === 0) return
    const listeners = app.server.listeners('upgrade')
    const later = listeners.slice(listeners.indexOf(ours[ours.length - 1] as Listener) + 1)
    // @fastify/websocket's listener is named onUpgrade: other upgrade listeners (a proxy, a logger) are not its.
    if (later.some(listener => listener.name === 'onUpgrade')) {
      for (const listener of ours) app.server.removeListener('upgrade', listener)
    }
    if (!app.hasDecorator('injectWS')) app.injectWS = routes.injectWS
    if (!app.hasDecorator('websocketServer')) app.websocketServer = routes.websocketServer
  }
}
