import type { FastifyRequest } from 'fastify'
import { agentChoiceOf, chooseAgent, serverAgentOf, setAgentChoice, type AgentForSession } from '../../lib/agent/agent-choice.js'
import type { ResolvedLLMRTCOptions } from '../../lib/config/options.js'
import type { Session } from '../../lib/sessions/session.js'
import type { ConnectionContext } from '../../lib/signaling/message-router.js'
import { ToolRegistry } from '../../lib/tools/tool-registry.js'

// The server's tools, when the pipeline did not record its own: built once per options object.
const serverTools = new WeakMap<ResolvedLLMRTCOptions, ToolRegistry>()

/**
 * Runs `agentForSession` for a new connection's session and records the choice with the session (an
 * empty one for "the server's agent", so a resumed session is known to have been through the choice).
 * Throws `LLMRTC_ERR_AGENT_SELECTION`.
 */
export async function chooseSessionAgent (choose: AgentForSession, ctx: ConnectionContext, request: FastifyRequest, config: ResolvedLLMRTCOptions): Promise<void> {
  // The pipeline records the server's tools and playbook (a PLAYBOOK module included) for the clash check.
  const server = serverAgentOf(config) ?? { tools: toolsOf(config), playbook: config.playbook }
  const session = ctx.session
  const query = new URL(request.url, 'http://localhost').searchParams
  const choice = await chooseAgent(choose, { principal: ctx.principal, query, request, sessionId: session.id }, server.tools, server.playbook)
  setAgentChoice(session, choice ?? { providers: {} })
}

/**
 * A `reconnect` resumed `resumed` in place of the connection's fresh session. A session that lived in this
 * process keeps the agent chosen when it was created; one loaded from a shared store (created on another
 * server) takes the agent chosen for this connection, from the same principal.
 */
export function keepAgentOnResume (resumed: Session, fresh: Session): void {
  if (agentChoiceOf(resumed) !== undefined) return
  const choice = agentChoiceOf(fresh)
  if (choice !== undefined) setAgentChoice(resumed, choice)
}

function toolsOf (config: ResolvedLLMRTCOptions): ToolRegistry {
  let tools = serverTools.get(config)
  if (tools === undefined) {
    tools = new ToolRegistry(config.tools)
    serverTools.set(config, tools)
  }
  return tools
}
