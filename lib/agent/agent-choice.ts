import type { UpgradeRequest } from '../config/security-options.js'
import { LLMRTC_ERR_AGENT_SELECTION } from '../errors.js'
import { validatePlaybook } from '../playbooks/validate-playbook.js'
import type { Playbook } from '../playbooks/types.js'
import type { Session } from '../sessions/session.js'
import type { LLMProvider, STTProvider, TTSProvider } from '../providers/types.js'
import { ToolRegistry } from '../tools/tool-registry.js'
import type { Tool } from '../tools/types.js'

/** What `agentForSession` is given: who connected, and how. */
export interface AgentRequest {
  /** The authenticated principal (`authenticate` or the JWT's `sub`), or null when authentication is off. */
  principal: string | null
  /** The WebSocket upgrade's query string (`?agent=sales`). */
  query: URLSearchParams
  /** The upgrade request: headers, url, ip. */
  request: UpgradeRequest
  /** The id of the session being created. */
  sessionId: string
}

/**
 * One session's agent. Every field is optional: what is left out is the server's (`systemPrompt`, `tools`,
 * `providers`, `playbook` options). Tools, providers and playbooks are the app's, made once and shared by
 * the sessions that choose them: llmrtc never calls a provider's `init()` or `close()` that it did not choose
 * itself, so an app that returns its own providers initialises and closes them.
 */
export interface AgentChoice {
  /** The system prompt (a playbook's and its stage's prompts are added to it). */
  systemPrompt?: string
  /** The tools offered in every turn, in place of the server's (`[]`: none). */
  tools?: Tool[]
  /** Providers per role, in place of the server's; a role left out keeps the server's. */
  providers?: { llm?: LLMProvider, stt?: STTProvider, tts?: TTSProvider }
  /** The session's playbook, in place of the server's; null runs none. */
  playbook?: Playbook | null
  /**
   * Record this session (audio and transcript) with the recording plugin: true records it even when the
   * plugin records `opt-in` sessions only, false never records it. Ignored without the plugin.
   */
  record?: boolean
  /**
   * The server's background sounds (option `backgroundAudio`) for this session: false none, true all
   * (the default), or per sound (`{ ambient: false }`). A sound the server has none of stays off.
   */
  backgroundAudio?: boolean | { thinking?: boolean, ambient?: boolean }
}

/**
 * Chooses each session's agent when a client connects (option `agentForSession`). May be async. What it
 * throws, or an invalid choice, closes that connection with an `INTERNAL_ERROR` (`LLMRTC_ERR_AGENT_SELECTION`);
 * throw `LLMRTC_ERR_AGENT_SELECTION` yourself to have its reason sent to the client. Return undefined for
 * the server's agent.
 */
export type AgentForSession = (request: AgentRequest) => AgentChoice | undefined | Promise<AgentChoice | undefined>

/** A checked choice, as the pipeline uses it. */
export interface ResolvedAgentChoice {
  systemPrompt?: string
  tools?: ToolRegistry
  providers: { llm?: LLMProvider, stt?: STTProvider, tts?: TTSProvider }
  playbook?: Playbook | null
  record?: boolean
  backgroundAudio?: boolean | { thinking?: boolean, ambient?: boolean }
}

const CHOICE_KEYS = new Set(['systemPrompt', 'tools', 'providers', 'playbook', 'record', 'backgroundAudio'])
const PROVIDER_METHODS = { llm: 'complete', stt: 'transcribe', tts: 'speak' } as const

// Playbooks are usually a handful of module constants returned again and again: validated once each.
const validPlaybooks = new WeakSet<Playbook>()

/**
 * Runs `agentForSession` and checks what it returns. Throws `LLMRTC_ERR_AGENT_SELECTION`: with the
 * chooser's own reason when it threw that error, with a generic reason when it threw anything else (the
 * original is the `cause`, for logs), or naming the invalid field.
 *
 * @param serverTools the server's tools, checked against the chosen playbook's for a clash of names
 * @param serverPlaybook the server's playbook, checked against the chosen tools likewise
 */
export async function chooseAgent (choose: AgentForSession, request: AgentRequest, serverTools: ToolRegistry, serverPlaybook: Playbook | undefined): Promise<ResolvedAgentChoice | undefined> {
  let choice: unknown
  try {
    choice = await choose(request)
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code === 'LLMRTC_ERR_AGENT_SELECTION') throw err
    throw new LLMRTC_ERR_AGENT_SELECTION('agentForSession threw', { cause: err })
  }
  if (choice === undefined) return undefined
  return checkChoice(choice, serverTools, serverPlaybook)
}

function checkBackgroundAudio (value: unknown): NonNullable<ResolvedAgentChoice['backgroundAudio']> {
  if (typeof value === 'boolean') return value
  const sounds = value as Record<string, unknown> | null
  if (sounds === null || typeof sounds !== 'object' || Array.isArray(sounds) || !Object.entries(sounds).every(([key, on]) => (key === 'thinking' || key === 'ambient') && typeof on === 'boolean')) {
    invalid('backgroundAudio', 'a boolean or { thinking?: boolean, ambient?: boolean }', describe(value))
  }
  return sounds as { thinking?: boolean, ambient?: boolean }
}

function checkChoice (choice: unknown, serverTools: ToolRegistry, serverPlaybook: Playbook | undefined): ResolvedAgentChoice {
  if (choice === null || typeof choice !== 'object' || Array.isArray(choice)) invalid('agent', 'an object or undefined', describe(choice))
  const given = choice as Record<string, unknown>
  const unknown = Object.keys(given).find(key => !CHOICE_KEYS.has(key))
  if (unknown !== undefined) invalid('agent', 'only systemPrompt, tools, providers, playbook, record and backgroundAudio', `the unknown key "${unknown}"`)
  const resolved: ResolvedAgentChoice = { providers: {} }
  if (given.systemPrompt !== undefined) {
    if (typeof given.systemPrompt !== 'string') invalid('systemPrompt', 'a string', describe(given.systemPrompt))
    resolved.systemPrompt = given.systemPrompt
  }
  if (given.tools !== undefined) {
    if (!Array.isArray(given.tools)) invalid('tools', 'an array of tools made with defineTool()', describe(given.tools))
    resolved.tools = guard('tools', () => new ToolRegistry(given.tools as Tool[]))
  }
  if (given.providers !== undefined) resolved.providers = checkProviders(given.providers)
  if (given.record !== undefined) {
    if (typeof given.record !== 'boolean') invalid('record', 'a boolean', describe(given.record))
    resolved.record = given.record
  }
  if (given.backgroundAudio !== undefined) resolved.backgroundAudio = checkBackgroundAudio(given.backgroundAudio)
  if (given.playbook !== undefined) {
    const playbook = given.playbook as Playbook | null
    if (playbook !== null && !validPlaybooks.has(playbook)) {
      guard('playbook', () => validatePlaybook(playbook))
      validPlaybooks.add(playbook)
    }
    resolved.playbook = playbook
  }
  const playbook = resolved.playbook === undefined ? serverPlaybook : resolved.playbook ?? undefined
  const tools = resolved.tools ?? serverTools
  if (playbook !== undefined) {
    const clash = [...playbook.globalTools ?? [], ...playbook.stages.flatMap(stage => stage.tools ?? [])].find(tool => tools.has(tool.definition.name))
    // The LLM would be offered two tools of one name.
    if (clash !== undefined) invalid('tools', 'names other than the playbook\'s tools\'', `"${clash.definition.name}" in both`)
  }
  return resolved
}

function checkProviders (providers: unknown): ResolvedAgentChoice['providers'] {
  if (providers === null || typeof providers !== 'object' || Array.isArray(providers)) invalid('providers', 'an object of llm, stt and tts providers', describe(providers))
  const given = providers as Record<string, unknown>
  const resolved: ResolvedAgentChoice['providers'] = {}
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(PROVIDER_METHODS, key)) invalid('providers', 'only llm, stt and tts', `the unknown key "${key}"`)
  }
  for (const role of ['llm', 'stt', 'tts'] as const) {
    const provider = given[role] as { name?: unknown } | undefined
    if (provider === undefined) continue
    const method = PROVIDER_METHODS[role]
    if (provider === null || typeof provider !== 'object' || typeof provider.name !== 'string' || typeof (provider as Record<string, unknown>)[method] !== 'function') {
      invalid(`providers.${role}`, `an object with a string "name" and a "${method}" method`, describe(provider))
    }
    Object.assign(resolved, { [role]: provider })
  }
  return resolved
}

function guard<T> (field: string, check: () => T): T {
  try {
    return check()
  } catch (err) {
    throw new LLMRTC_ERR_AGENT_SELECTION(`agentForSession returned invalid ${field}: ${(err as Error).message}`, { cause: err })
  }
}

function invalid (field: string, expected: string, got: string): never {
  const what = field === 'agent' ? 'an invalid agent' : `invalid ${field}`
  throw new LLMRTC_ERR_AGENT_SELECTION(`agentForSession returned ${what}: expected ${expected}, instead got ${got}`)
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : typeof value
}

// The choice made for each session, kept with the session object: a reconnect that resumes the session
// in this process finds it again, whatever the reconnecting request carries.
const sessionChoices = new WeakMap<Session, ResolvedAgentChoice>()

/** Records the agent chosen for `session`; its system prompt becomes the history's. */
export function setAgentChoice (session: Session, choice: ResolvedAgentChoice): void {
  sessionChoices.set(session, choice)
  if (choice.systemPrompt !== undefined) session.history.systemPrompt = choice.systemPrompt
}

/** The agent chosen for `session`, or undefined when it has the server's. */
export function agentChoiceOf (session: Session): ResolvedAgentChoice | undefined {
  return sessionChoices.get(session)
}

// The server's own agent (its tools, and its playbook once a PLAYBOOK module is loaded), by options object:
// the pipeline sets it, so a chosen agent is checked against what the server really runs.
const serverAgents = new WeakMap<object, { tools: ToolRegistry, playbook: Playbook | undefined }>()

/** Records the server's tools and playbook for the options object `config`. */
export function setServerAgent (config: object, agent: { tools: ToolRegistry, playbook: Playbook | undefined }): void {
  serverAgents.set(config, agent)
}

/** The server's tools and playbook recorded for `config`, if any. */
export function serverAgentOf (config: object): { tools: ToolRegistry, playbook: Playbook | undefined } | undefined {
  return serverAgents.get(config)
}
