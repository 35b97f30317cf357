// The WebSocket recorder and `until` ship in the testing kit (@llmrtc/llmrtc-backend/testing): one copy, used here too.
export { connect, connectOverNetwork, type RecordingSocket } from '../../testing/recording-socket.js'
export { until } from '../../testing/wait.js'
