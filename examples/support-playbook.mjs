/**
 * A runnable voice playbook: an order desk that greets the caller, looks the order up with a tool, and
 * explains where it is. Start the server with it (an LLM that can call tools is needed: OpenAI, or an
 * OpenAI-compatible server such as Ollama with a tool-capable model):
 *
 *   npm run build
 *   PLAYBOOK=examples/support-playbook.mjs OPENAI_API_KEY=sk-... npm start
 *   PLAYBOOK=examples/support-playbook.mjs OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_MODEL=llama3.1 npm start
 *
 * In library mode, import it and pass it as the `playbook` option. docs/playbooks.md explains each part.
 */
import { defineTool } from '@llmrtc/llmrtc-backend'

/** A stand-in for the shop's order database. */
const orders = new Map([
  ['42', { status: 'shipped', carrier: 'DHL', eta: 'Thursday' }],
  ['7', { status: 'being packed', carrier: null, eta: 'next week' }]
])

export const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Finds an order by its number and returns its status, carrier and expected delivery day.',
  parameters: {
    type: 'object',
    properties: { orderId: { type: 'string', description: 'The order number, digits only' } },
    required: ['orderId'],
    additionalProperties: false
  }
}, async ({ orderId }, { signal }) => {
  signal.throwIfAborted()
  const order = orders.get(String(orderId).replace(/\D/g, ''))
  if (order === undefined) return { found: false, orderId }
  return { found: true, orderId, ...order }
})

export const requestRefund = defineTool({
  name: 'request_refund',
  description: 'Files a refund request for an order. Only after the caller confirmed they want one.',
  parameters: {
    type: 'object',
    properties: { orderId: { type: 'string' }, reason: { type: 'string' } },
    required: ['orderId', 'reason'],
    additionalProperties: false
  }
}, async ({ orderId }) => ({ filed: true, orderId, reference: `R-${orderId}-1` }),
// Once started, a refund request is recorded even if the caller interrupts.
{ cancelOnBargeIn: false })

/** @type {import('@llmrtc/llmrtc-backend').Playbook} */
export const playbook = {
  id: 'order-desk',
  name: 'Order desk',
  initialStage: 'greet',
  globalSystemPrompt: 'You are the voice of the Acme order desk. Speak in one or two short sentences.',
  stages: [
    {
      id: 'greet',
      name: 'Greet',
      description: 'Greeting and finding the order',
      systemPrompt: 'Greet the caller, ask for their order number and look it up with lookup_order.',
      tools: [lookupOrder]
    },
    {
      id: 'resolve',
      name: 'Resolve',
      description: 'Explaining the order status',
      systemPrompt: 'Tell the caller where their order is, using the lookup result. If they want a refund, move to the refund stage.',
      tools: [lookupOrder]
    },
    {
      id: 'refund',
      name: 'Refund',
      description: 'Filing a refund',
      systemPrompt: 'Confirm the order number and the reason, then file the refund with request_refund and read out the reference.',
      tools: [requestRefund]
    },
    {
      id: 'goodbye',
      name: 'Goodbye',
      systemPrompt: 'Thank the caller and say goodbye.'
    }
  ],
  transitions: [
    { id: 'order-found', from: 'greet', condition: { type: 'tool_call', toolName: 'lookup_order' }, action: { targetStage: 'resolve' } },
    { id: 'wants-refund', from: 'resolve', condition: { type: 'llm_decision' }, action: { targetStage: 'refund' } },
    { id: 'refund-filed', from: 'refund', condition: { type: 'tool_call', toolName: 'request_refund' }, action: { targetStage: 'goodbye' } },
    { id: 'bye', from: '*', condition: { type: 'keyword', keywords: ['goodbye', 'bye for now'] }, action: { targetStage: 'goodbye' }, priority: -1 },
    { id: 'idle', from: '*', condition: { type: 'timeout', durationMs: 5 * 60_000 }, action: { targetStage: 'goodbye' }, priority: -2 }
  ]
}

export default playbook
