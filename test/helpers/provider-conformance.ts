// The conformance suites ship in the testing kit (@llmrtc/llmrtc-backend/testing): one copy, used here too.
export { llmConformance, sttConformance, ttsConformance } from '../../testing/provider-conformance.js'
