export type {
  IntentDetector, LLMConfig, Playbook, PlaybookState, Stage, StageChange, StageHookContext, Transition, TransitionAction,
  TransitionCondition, TransitionConditionType, TransitionContext, TransitionReason
} from './types.js'
export { validatePlaybook, type PlaybookValidation } from './validate-playbook.js'
export { PlaybookEngine, type PlaybookEngineOptions, type PlaybookToolCall, type TransitionExtras } from './playbook-engine.js'
export { loadPlaybookModule } from './load-playbook-module.js'
export { PLAYBOOK_TRANSITION_TOOL } from './transition-tool.js'
export { matchKeyword } from './conditions.js'
