// The script of test/server/workers*.test.ts, run as a child process: node:cluster runs it again in each worker.
// TEST_WORKERS: the `workers` option; TEST_OPTIONS: more options, as JSON.
import { LLMRTCServer } from '../../server/llmrtc-server.js'

// Run as a test file (tap given the directory), it would start a cluster and wait: only the test starts it.
if (process.env.WORKERS_FIXTURE !== '1') process.exit(0)

const extra = JSON.parse(process.env.TEST_OPTIONS ?? '{}') as Record<string, unknown>
const server = new LLMRTCServer({
  workers: Number(process.env.TEST_WORKERS ?? '2'),
  port: 0,
  host: '127.0.0.1',
  env: false,
  webrtc: false,
  demoPage: false,
  logger: { level: 'info' },
  ...extra
})

// Runs in every process: in the primary the app is inert, in the workers it serves this route.
server.getApp().get('/test/record/:id', async (request) => {
  const { id } = request.params as { id: string }
  const record = await server.getApp().llmrtcSessions.store.get(id)
  return { worker: server.workerId, history: record?.history.map(m => m.content) ?? null }
})

server.on('listening', ({ port }) => {
  if (server.role === 'primary') process.stdout.write(`primary listening ${port} pids ${server.workerPids.join(',')}\n`)
  else process.stdout.write(`${server.role} ${server.workerId ?? 0} pid ${process.pid} listening ${port}\n`)
})
server.on('connection', ({ id }) => { process.stdout.write(`connection ${id} on worker ${server.workerId ?? 0}\n`) })

process.on('SIGTERM', () => {
  server.stop().then(() => {
    process.stdout.write(`${server.role} stopped\n`)
    process.exit(0)
  }, () => process.exit(1))
})

try {
  await server.start()
} catch (err) {
  process.stdout.write(`${server.role} start failed ${(err as { code?: string }).code ?? ''}: ${(err as Error).message}\n`)
  process.exit(1)
}
