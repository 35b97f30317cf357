import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import llmrtc, { OpenAILLM, OpenAITTS, defineTool, type AgentChoice, type Playbook } from '@llmrtc/llmrtc-backend'

const apiKey = process.env.OPENAI_API_KEY ?? ''

// Made once, shared by every session that chooses them (llmrtc neither initialises nor closes them).
const smartLLM = new OpenAILLM({ apiKey, model: 'gpt-4o' })
const calmVoice = new OpenAITTS({ apiKey, voice: 'sage', instructions: 'Calm and precise.' })

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Finds an order by its number',
  parameters: Type.Object({ orderId: Type.String() })
}, async ({ orderId }, { signal }) => {
  const response = await fetch(`https://shop.example/orders/${encodeURIComponent(orderId)}`, { signal })
  return await response.json() as unknown
})

const bookDemo = defineTool({
  name: 'book_demo',
  description: 'Books a product demo',
  parameters: Type.Object({ email: Type.String(), day: Type.String({ description: 'An ISO date' }) })
}, async ({ email, day }) => ({ booked: true, email, day }))

const salesPlaybook: Playbook = {
  id: 'sales',
  name: 'Sales',
  initialStage: 'qualify',
  stages: [
    { id: 'qualify', name: 'Qualify', systemPrompt: 'Find out what the caller needs and how many seats.' },
    { id: 'book', name: 'Book', systemPrompt: 'Offer a demo and book it.', tools: [bookDemo] }
  ],
  transitions: [{ id: 'qualified', from: 'qualify', condition: { type: 'max_turns', count: 3 }, action: { targetStage: 'book' } }]
}

// Staff (their token's principal starts with "staff:") get the order desk: its tools, a stronger model and
// a calm voice. Anyone else who opens /voice?agent=sales gets the sales agent with its playbook. Everyone
// else gets the server's agent (the options below).
async function agentForSession ({ principal, query }: { principal: string | null, query: URLSearchParams }): Promise<AgentChoice | undefined> {
  if (principal?.startsWith('staff:') === true) {
    return {
      systemPrompt: 'You are the order desk for our staff. Be exact; read order numbers back.',
      tools: [lookupOrder],
      providers: { llm: smartLLM, tts: calmVoice }
    }
  }
  if (query.get('agent') === 'sales') {
    return { systemPrompt: 'You are a friendly sales assistant.', playbook: salesPlaybook }
  }
  return undefined
}

const app = Fastify({ logger: true })
await app.register(llmrtc, {
  prefix: '/voice',
  env: process.env,
  systemPrompt: 'You are a helpful voice assistant. Answer in one or two short sentences.',
  // Any principal is accepted here; check a session cookie or a token in a real app.
  authenticate: (request) => (request.headers['x-user'] as string | undefined) ?? 'guest',
  agentForSession
})
await app.listen({ port: 8787 })
