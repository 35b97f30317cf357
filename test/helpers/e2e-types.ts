export type { LLMRTCPluginOptions as LLMPluginOptions } from '../../plugins/llmrtc/index.js'
