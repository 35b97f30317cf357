/**
 * Hand-encoded ONNX models for tests. No onnx package is available (in Python or npm), so this writes the
 * few protobuf messages a model needs (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto)
 * with a small wire-format writer. Field numbers are from onnx/onnx.proto3.
 */

/** Protobuf wire types. */
const VARINT = 0
const LENGTH_DELIMITED = 2

/** ONNX TensorProto.DataType values used here. */
export const FLOAT = 1
export const INT64 = 7

/** ONNX AttributeProto.AttributeType values used here. */
const ATTRIBUTE_INT = 2
const ATTRIBUTE_INTS = 7

/** One protobuf message under construction: append fields, then `bytes()`. */
class Message {
  readonly #chunks: number[] = []

  varint (field: number, value: number | bigint): this {
    this.#key(field, VARINT)
    this.#varint(BigInt.asUintN(64, BigInt(value)))
    return this
  }

  bytes (field: number, value: Uint8Array): this {
    this.#key(field, LENGTH_DELIMITED)
    this.#varint(BigInt(value.length))
    for (const byte of value) this.#chunks.push(byte)
    return this
  }

  string (field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  message (field: number, value: Message): this {
    return this.bytes(field, value.encode())
  }

  encode (): Uint8Array {
    return Uint8Array.from(this.#chunks)
  }

  #key (field: number, wireType: number): void {
    this.#varint(BigInt((field << 3) | wireType))
  }

  #varint (value: bigint): void {
    let rest = value
    do {
      let byte = Number(rest & 0x7fn)
      rest >>= 7n
      if (rest !== 0n) byte |= 0x80
      this.#chunks.push(byte)
    } while (rest !== 0n)
  }
}

/** A graph input or output: a tensor of `elemType` whose dims are numbers or symbolic names. */
export interface ValueInfo { name: string, elemType: number, dims: Array<number | string> }

/** A float initializer (a constant tensor of the graph). */
export interface FloatInitializer { name: string, dims: number[], values: number[] }

/** A graph node; `ints` and `int` are attributes (e.g. `{ axes: [1] }`, `{ keepdims: 0 }`). */
export interface NodeSpec { op: string, inputs: string[], outputs: string[], ints?: Record<string, number[]>, int?: Record<string, number> }

export interface GraphSpec {
  nodes: NodeSpec[]
  inputs: ValueInfo[]
  outputs: ValueInfo[]
  initializers?: FloatInitializer[]
  /** Default opset 13 (ReduceMean still takes `axes` as an attribute there). */
  opset?: number
}

function valueInfo (info: ValueInfo): Message {
  const shape = new Message()
  for (const dim of info.dims) {
    shape.message(1, typeof dim === 'number' ? new Message().varint(1, dim) : new Message().string(2, dim))
  }
  const tensorType = new Message().varint(1, info.elemType).message(2, shape)
  return new Message().string(1, info.name).message(2, new Message().message(1, tensorType))
}

function initializer (init: FloatInitializer): Message {
  const tensor = new Message()
  for (const dim of init.dims) tensor.varint(1, dim)
  const raw = new Uint8Array(Float32Array.from(init.values).buffer)
  return tensor.varint(2, FLOAT).string(8, init.name).bytes(9, raw)
}

function node (spec: NodeSpec, index: number): Message {
  const message = new Message()
  for (const input of spec.inputs) message.string(1, input)
  for (const output of spec.outputs) message.string(2, output)
  message.string(3, `${spec.op.toLowerCase()}_${index}`).string(4, spec.op)
  for (const [name, values] of Object.entries(spec.ints ?? {})) {
    const attribute = new Message().string(1, name)
    for (const value of values) attribute.varint(8, value)
    message.message(5, attribute.varint(20, ATTRIBUTE_INTS))
  }
  for (const [name, value] of Object.entries(spec.int ?? {})) {
    message.message(5, new Message().string(1, name).varint(3, value).varint(20, ATTRIBUTE_INT))
  }
  return message
}

/** The bytes of an ONNX model (IR version 8) holding one graph. */
export function onnxModel (spec: GraphSpec): Uint8Array {
  const graph = new Message()
  spec.nodes.forEach((n, i) => graph.message(1, node(n, i)))
  graph.string(2, 'tiny')
  for (const init of spec.initializers ?? []) graph.message(5, initializer(init))
  for (const input of spec.inputs) graph.message(11, valueInfo(input))
  for (const output of spec.outputs) graph.message(12, valueInfo(output))
  return new Message()
    .varint(1, 8)
    .string(2, 'llmrtc-tests')
    .message(7, graph)
    .message(8, new Message().string(1, '').varint(2, spec.opset ?? 13))
    .encode()
}

/**
 * An end-of-turn model that outputs a probability: sigmoid of the mean, over the unmasked tokens' positions,
 * of a per-token score (`scores[id]`). Inputs `input_ids` and `attention_mask` (int64 [1, n]); output
 * `probability`, float [1] (or [1, 1] with `keepDims`).
 */
export function probabilityModel (scores: number[], options: { keepDims?: boolean } = {}): Uint8Array {
  return onnxModel({
    initializers: [{ name: 'scores', dims: [scores.length], values: scores }],
    inputs: [
      { name: 'input_ids', elemType: INT64, dims: [1, 'sequence'] },
      { name: 'attention_mask', elemType: INT64, dims: [1, 'sequence'] }
    ],
    outputs: [{ name: 'probability', elemType: FLOAT, dims: options.keepDims === true ? [1, 1] : [1] }],
    nodes: [
      { op: 'Gather', inputs: ['scores', 'input_ids'], outputs: ['token_scores'] },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask'], int: { to: FLOAT } },
      { op: 'Mul', inputs: ['token_scores', 'mask'], outputs: ['masked'] },
      { op: 'ReduceMean', inputs: ['masked'], outputs: ['mean'], ints: { axes: [1] }, int: { keepdims: options.keepDims === true ? 1 : 0 } },
      { op: 'Sigmoid', inputs: ['mean'], outputs: ['probability'] }
    ]
  })
}

/**
 * A language-model-shaped end-of-turn model: `logits` float [1, n, vocab] where the logits at each position
 * are row `input_ids[i]` of `table` (vocab × vocab, row-major). Input `input_ids` only.
 */
export function logitsModel (table: number[][]): Uint8Array {
  const vocab = table.length
  return onnxModel({
    initializers: [{ name: 'table', dims: [vocab, vocab], values: table.flat() }],
    inputs: [{ name: 'input_ids', elemType: INT64, dims: [1, 'sequence'] }],
    outputs: [{ name: 'logits', elemType: FLOAT, dims: [1, 'sequence', vocab] }],
    nodes: [{ op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['logits'] }]
  })
}
