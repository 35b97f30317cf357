export type {
  ResolvedTurnDetectionOptions, TurnDetectionInput, TurnDetectionMessage, TurnDetectionOptions, TurnDetector
} from './types.js'
export { DEFAULT_TURN_DETECTION_OPTIONS, resolveTurnDetectionOptions } from './options.js'
export { endpointForProbability } from './endpoint-curve.js'
export { HEURISTIC_PROBABILITIES, HeuristicTurnDetector } from './heuristic-turn-detector.js'
export { HEURISTIC_LANGUAGES } from './languages/index.js'
export { DEFAULT_PAUSE_LEARNER_OPTIONS, PauseLearner, type PauseLearnerOptions } from './pause-learner.js'
export { OnnxTurnDetector, type OnnxTurnDetectorOptions } from './onnx-turn-detector.js'
