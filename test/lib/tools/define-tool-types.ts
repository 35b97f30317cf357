/*
 * Type-level checks of defineTool, compiled by `tsc -p tsconfig.json` (it includes test/) and never run:
 * a `@ts-expect-error` that stops matching an error fails the type check.
 */
import { Type } from '@sinclair/typebox'
import { defineTool } from '../../../lib/tools/define-tool.js'
import type { Tool } from '../../../lib/tools/types.js'

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Finds an order',
  parameters: Type.Object({ orderId: Type.String(), express: Type.Optional(Type.Boolean()) })
}, async ({ orderId, express }) => {
  const id: string = orderId
  const fast: boolean | undefined = express
  // @ts-expect-error orderId is a string, not a number
  const wrong: number = orderId
  return { id, fast, wrong }
})

defineTool({
  name: 'bad_use',
  description: 'Uses an argument the schema does not have',
  parameters: Type.Object({ orderId: Type.String() })
  // @ts-expect-error the schema has no "customerId"
}, async ({ customerId }) => customerId)

// A plain JSON Schema keeps the explicit type parameter.
const plain = defineTool<{ orderId: string }>({
  name: 'plain',
  description: 'Typed by hand',
  parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] }
}, ({ orderId }) => orderId.length)

// Typed tools still go into one list.
export const tools: Tool[] = [lookupOrder, plain]
