/** One message of the recent conversation, as a turn detector sees it. */
export interface TurnDetectionMessage {
  role: 'user' | 'assistant' | 'system' | 'tool'
  content: string
}

/** What a turn detector judges: the user's words so far and their context. */
export interface TurnDetectionInput {
  /** The user's words so far in this utterance (a final or an interim transcript). */
  transcript: string
  /** Silence since the last speech, in ms. */
  silenceMs: number
  /**
   * Recent conversation, newest last, without the utterance being judged. The assistant's last question
   * helps: after "What's your phone number?" digits may continue.
   */
  history: ReadonlyArray<TurnDetectionMessage>
  /** BCP 47 language, e.g. 'en', 'en-US', 'fr', 'de', 'es' (default 'en'). */
  language: string
  /** Aborts a slow (model) prediction; an aborted `predict` rejects with the signal's reason. */
  signal?: AbortSignal
}

/** Judges how likely the user has finished their turn. */
export interface TurnDetector {
  /** Short name for logs and metrics, e.g. 'heuristic', 'onnx'. */
  readonly name: string
  /** Probability 0-1 that the user has finished their turn. May be async (a model). */
  predict: (input: TurnDetectionInput) => number | Promise<number>
  /** Releases what the detector holds (a model session). Idempotent. */
  close?: () => void | Promise<void>
}

/** Adaptive end of turn: how long the pipeline waits in silence before it ends the user's turn. */
export interface TurnDetectionOptions {
  /** Judges whether the user has finished (default: a new `HeuristicTurnDetector`). */
  detector?: TurnDetector
  /** Silence waited after a clearly complete turn (probability 1), in ms (default 200). */
  minEndpointMs?: number
  /** Silence waited after a clearly unfinished turn (probability 0), in ms (default 1600). */
  maxEndpointMs?: number
  /** Learn this user's mid-turn pause lengths and stretch or shorten the wait (`PauseLearner`, default true). */
  dynamic?: boolean
  /** BCP 47 language of the conversation when the STT does not say (default 'en'). */
  language?: string
}

/** Options with every default applied. */
export interface ResolvedTurnDetectionOptions {
  detector: TurnDetector
  minEndpointMs: number
  maxEndpointMs: number
  dynamic: boolean
  language: string
}
