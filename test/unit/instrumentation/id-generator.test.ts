/**
 * The deterministic IdGenerator (src/instrumentation/id-generator.ts) in a real SDK TracerProvider:
 * the IDs offered around one `startSpan` call and only to it; random IDs for everything else.
 */
import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createDeterministicIdGenerator, deterministicIdGeneratorCreated, withPendingIds } from '../../../src/instrumentation/id-generator.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

function provider(extra: SpanProcessor[] = []) {
  const exporter = new InMemorySpanExporter();
  const p = new BasicTracerProvider({ idGenerator: createDeterministicIdGenerator(), spanProcessors: [...extra, new SimpleSpanProcessor(exporter)] });
  return { tracer: p.getTracer('t'), exporter };
}

describe('createDeterministicIdGenerator', () => {
  it('a root span started with pending IDs gets them; the next span gets random ones', () => {
    const { tracer } = provider();
    const ours = withPendingIds({ traceId: TRACE, spanId: SPAN }, () => tracer.startSpan('ours', { root: true }));
    expect(ours.spanContext()).toMatchObject({ traceId: TRACE, spanId: SPAN });
    const theirs = tracer.startSpan('theirs', { root: true });
    expect(theirs.spanContext().traceId).not.toBe(TRACE);
    expect(theirs.spanContext().spanId).not.toBe(SPAN);
    expect(theirs.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a child keeps its parent’s trace and takes the pending span ID; an unused trace ID is not left behind', () => {
    const { tracer } = provider();
    const parent: Context = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: SPAN, traceFlags: 1 });
    const child = withPendingIds({ traceId: 'ffffffffffffffffffffffffffffffff', spanId: '1111111111111111' }, () => tracer.startSpan('child', {}, parent));
    expect(child.spanContext()).toMatchObject({ traceId: TRACE, spanId: '1111111111111111' });
    expect(tracer.startSpan('after', { root: true }).spanContext().traceId).not.toBe('ffffffffffffffffffffffffffffffff');
  });

  it('a span a processor starts inside onStart gets random IDs, not ours', () => {
    let nested: Span | undefined;
    const ref: { tracer?: ReturnType<BasicTracerProvider['getTracer']> } = {};
    const meddler: SpanProcessor = {
      onStart: (span) => {
        if (!nested && span.name === 'ours') nested = ref.tracer?.startSpan('nested', { root: true }) as Span;
      },
      onEnd: () => {},
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const { tracer } = provider([meddler]);
    ref.tracer = tracer;
    const ours = withPendingIds({ traceId: TRACE, spanId: SPAN }, () => tracer.startSpan('ours', { root: true }));
    expect(ours.spanContext()).toMatchObject({ traceId: TRACE, spanId: SPAN });
    expect(nested?.spanContext().spanId).not.toBe(SPAN);
    expect(nested?.spanContext().traceId).not.toBe(TRACE);
  });

  it('pending IDs nest and are restored, even when startSpan throws', () => {
    const { tracer } = provider();
    const [inner, outer] = withPendingIds({ spanId: '2222222222222222' }, () => [
      withPendingIds({ spanId: '3333333333333333' }, () => tracer.startSpan('inner', { root: true })),
      tracer.startSpan('outer', { root: true }),
    ]);
    expect([inner?.spanContext().spanId, outer?.spanContext().spanId]).toEqual(['3333333333333333', '2222222222222222']);
    expect(() => withPendingIds({ spanId: SPAN }, () => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(tracer.startSpan('clean', { root: true }).spanContext().spanId).not.toBe(SPAN);
    expect(deterministicIdGeneratorCreated()).toBe(true);
  });
});
