import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { serverAgentOf } from '../../lib/agent/agent-choice.js'
import { systemClock } from '../../lib/clock.js'
import { protocolCodeOf } from '../../lib/errors.js'
import { childLoggerOptions, type Logger } from '../../lib/logger.js'
import type { McpServers, McpServerStatus } from '../../lib/tools/mcp/mcp-servers.js'
import { resolveMcpServers } from '../../lib/tools/mcp/mcp-options.js'
import { setStageToolSource } from '../../lib/tools/mcp/stage-tools.js'

/** `fastify.llmrtcMcp`: the MCP servers whose tools the LLM may call. */
export interface LLMRTCMcpDecorator {
  /** Each server: name, stage (for a playbook stage's), state (`connected`, `disconnected`...) and offered tool names. */
  servers: () => McpServerStatus[]
  /** The servers themselves (their connections: state, pid of a stdio server), for diagnostics; undefined without servers. */
  readonly set: McpServers | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    llmrtcMcp: LLMRTCMcpDecorator
  }
}

/**
 * Connects the `mcpServers` option's servers and the server playbook's stages' (docs/mcp.md) in `onReady`,
 * so their tools are listed by `ready()`; a server that cannot be reached is logged, reported to
 * `onError` and retried, unless it is `required` (then `ready()` fails). Their tools join the server's
 * tool registry (and each stage's); every server is closed, and every stdio server's process ended, on close.
 * Registered after the pipeline plugin, whose server tools and playbook it extends.
 */
async function llmrtcMcp (fastify: FastifyInstance, _opts: object): Promise<void> {
  const config = fastify.llmrtcConfig
  const agent = serverAgentOf(config)
  const playbook = agent?.playbook
  const stages = (playbook?.stages ?? []).map(stage => ({ stage, servers: resolveMcpServers(stage.mcpServers, `stage "${stage.id}": mcpServers`) })).filter(entry => entry.servers.length > 0)
  const clock = config.clock ?? systemClock
  const log = fastify.log.child({ plugin: 'llmrtc-mcp' }, childLoggerOptions) as Logger
  const hooks = fastify.llmrtc.hooks
  const playbookNames = [...playbook?.globalTools ?? [], ...playbook?.stages.flatMap(stage => stage.tools ?? []) ?? []].map(tool => tool.definition.name)
  const reserved = new Set([...config.tools.map(tool => tool.definition.name), ...playbookNames])

  if (config.mcpServers.length === 0 && stages.length === 0) {
    fastify.decorate('llmrtcMcp', { servers: () => [], set: undefined })
    return
  }
  // Loaded only when a server is configured: most apps never pay for the MCP SDK at startup.
  const { McpServers } = await import('../../lib/tools/mcp/mcp-servers.js')
  const set = new McpServers({
    servers: config.mcpServers,
    stages,
    reservedNames: () => reserved,
    clock,
    log,
    onError: (err, server) => {
      void hooks.run('onError', err, { code: protocolCodeOf(err), component: 'tool', timestamp: clock.now(), details: { mcpServer: server } })
    }
  })
  fastify.decorate('llmrtcMcp', { servers: () => set.status(), set })
  agent?.tools.addSource(set.serverTools)
  for (const { stage } of stages) setStageToolSource(stage, set.stageTools(stage))
  // In onReady, not in the plugin's body: connecting may take up to connectTimeoutMs, longer than
  // Fastify's pluginTimeout (10 s by default) allows a plugin to load.
  fastify.addHook('onReady', async function connectMcpServers () { await set.start() })
  fastify.addHook('onClose', async function closeMcpServers () { await set.close() })
}

export default fp(llmrtcMcp, {
  name: 'llmrtc-mcp',
  fastify: '5.x',
  dependencies: ['llmrtc-config', 'llmrtc-hooks', 'llmrtc-pipeline'],
  decorators: { fastify: ['llmrtcConfig', 'llmrtc', 'llmrtcPipeline'] }
})
