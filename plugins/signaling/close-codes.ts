/** WebSocket close codes the server uses (4xxx are application codes). */
export const CLOSE_CODES = {
  /** 1000: the conversation is over (the user stayed silent through every idle prompt). */
  normal: 1000,
  /** 1001: the server is shutting down; reconnect (elsewhere). */
  goingAway: 1001,
  /** 1011: the server could not serve this connection (`agentForSession` failed). */
  internalError: 1011,
  /** 1013: the server is full; try again later. */
  tryAgainLater: 1013,
  /** 4001: another connection resumed this session. */
  resumedElsewhere: 4001,
  /** 4408: no message (not even `ping`) within the heartbeat timeout. */
  heartbeatTimeout: 4408,
  /** 4410: the session expired after being idle. */
  sessionExpired: 4410
} as const
