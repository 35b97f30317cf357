import type { ToolSource } from '../tool-registry.js'
import type { Tool } from '../types.js'

// A playbook stage's MCP tools, kept beside the stage (the app's object, never changed): set by the MCP
// plugin when it connects the stage's servers, read by the playbook engine on every round.
const sources = new WeakMap<object, ToolSource>()

/** Offers `source`'s tools in `stage` (a playbook Stage), after the stage's own tools. */
export function setStageToolSource (stage: object, source: ToolSource): void {
  sources.set(stage, source)
}

/** The MCP tools of `stage` now (none when its servers are not connected by the MCP plugin). */
export function stageSourceTools (stage: object): readonly Tool[] {
  return sources.get(stage)?.tools() ?? []
}
