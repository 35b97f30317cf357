import { Type } from '@sinclair/typebox'
import { LLMRTCServer, defineTool } from '@llmrtc/llmrtc-backend'

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Finds an order by its number',
  parameters: Type.Object({ orderId: Type.String({ description: 'The order number' }) })
}, async ({ orderId }, { signal }) => {
  // orderId is a string: the handler's arguments are typed from the schema, and checked against it
  const response = await fetch(`https://shop.example/orders/${encodeURIComponent(orderId)}`, { signal })
  return await response.json() as unknown
})

const server = new LLMRTCServer({ port: 8787, tools: [lookupOrder] }) // or: playbook: { stages, transitions, ... }
await server.start()
