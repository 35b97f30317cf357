import { trace, type Attributes, type AttributeValue, type Context, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type TimeInput, type Tracer, type TracerProvider } from '@opentelemetry/api'

/** A span as the fake provider recorded it. */
export interface RecordedSpan {
  name: string
  spanId: string
  parentSpanId: string | undefined
  attributes: Attributes
  events: Array<{ name: string, attributes: Attributes | undefined, time: TimeInput | undefined }>
  status: SpanStatus | undefined
  startTime: TimeInput | undefined
  endTime: TimeInput | undefined
  ended: boolean
}

let nextId = 1

class FakeSpan implements Span {
  readonly #context: SpanContext
  readonly record: RecordedSpan

  constructor (record: RecordedSpan, traceId: string) {
    this.record = record
    this.#context = { traceId, spanId: record.spanId, traceFlags: 1 }
  }

  spanContext (): SpanContext { return this.#context }
  setAttribute (key: string, value: AttributeValue): this { this.record.attributes[key] = value; return this }
  setAttributes (attributes: Attributes): this { Object.assign(this.record.attributes, attributes); return this }
  addEvent (name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    const timeOnly = typeof attributesOrTime === 'number' || attributesOrTime instanceof Date || Array.isArray(attributesOrTime)
    this.record.events.push({ name, attributes: timeOnly ? undefined : attributesOrTime as Attributes | undefined, time: timeOnly ? attributesOrTime as TimeInput : time })
    return this
  }

  addLink (_link: Link): this { return this }
  addLinks (_links: Link[]): this { return this }
  setStatus (status: SpanStatus): this { this.record.status = status; return this }
  updateName (name: string): this { this.record.name = name; return this }
  end (endTime?: TimeInput): void { this.record.ended = true; this.record.endTime = endTime }
  isRecording (): boolean { return !this.record.ended }
  recordException (): void {}
}

/**
 * A TracerProvider that records spans in memory (no OpenTelemetry SDK needed). `install()` makes it the
 * global provider; call `uninstall()` (trace.disable()) in teardown.
 */
export class FakeTracerProvider implements TracerProvider {
  readonly spans: RecordedSpan[] = []
  readonly tracerNames: string[] = []

  getTracer (name: string): Tracer {
    this.tracerNames.push(name)
    const spans = this.spans
    const tracer: Tracer = {
      startSpan (spanName: string, options?: SpanOptions, ctx?: Context): Span {
        const parent = ctx === undefined || options?.root === true ? undefined : trace.getSpan(ctx)
        const record: RecordedSpan = {
          name: spanName,
          spanId: String(nextId++).padStart(16, '0'),
          parentSpanId: parent?.spanContext().spanId,
          attributes: { ...options?.attributes },
          events: [],
          status: undefined,
          startTime: options?.startTime,
          endTime: undefined,
          ended: false
        }
        spans.push(record)
        return new FakeSpan(record, parent?.spanContext().traceId ?? '0'.repeat(31) + '1')
      },
      startActiveSpan (...args: unknown[]): unknown {
        const fn = args.at(-1) as (span: Span) => unknown
        return fn(tracer.startSpan(args[0] as string))
      }
    } as Tracer
    return tracer
  }

  install (): this {
    if (!trace.setGlobalTracerProvider(this)) throw new Error('a global tracer provider is already registered')
    return this
  }

  uninstall (): void {
    trace.disable()
  }

  named (name: string): RecordedSpan[] {
    return this.spans.filter(s => s.name === name)
  }
}
