/**
 * The trace model: a pure function from one run and its steps to spans.
 *
 *   invoke_agent {assistant}            CLIENT    one per run (synthesized when only steps are known)
 *   └─ step {type}                      INTERNAL  one per terminal step
 *      └─ execute_tool {tool}           INTERNAL  one per tool call of a `tool_calls` step
 *
 * No clock, no randomness, no I/O: the same input gives the same spans, IDs and attribute order.
 * Only terminal records become spans; a run that is still going yields the spans of its finished
 * steps (their parent, the run span, follows once the run is terminal).
 */
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { isRunTerminal, isStepTerminal } from '../api/lifecycle.js';
import { classifyStepDetails, classifyToolCall, type Run, type RunStep, type ToolCall } from '../api/schemas.js';
import {
  putQuirks,
  runAttributes,
  stepAttributes,
  synthesizedRunAttributes,
  toolCallAttributes,
  type AttributeContext,
} from './attributes.js';
import { cutTo, DEFAULT_CONTENT_MAX_LENGTH } from './content.js';
import { parseTraceparent, spanIdForRun, spanIdForStep, spanIdForToolCall, traceIdForRun, type TraceParent } from './ids.js';
import { EVENT_RUN_STARTED } from './semconv.js';
import { mapStatus } from './status.js';
import { boundsOf, toHrTime, type Bounds } from './time.js';
import type { MappingOptions, RunRecord, SpanData, SpanEventData } from './types.js';

interface TraceContext {
  traceId: string;
  runSpanId: string;
  attributes: AttributeContext;
  attributeValueLengthLimit: number;
}

function resolveAttributeContext(options: MappingOptions): AttributeContext {
  return {
    providerName: options.providerName ?? 'openai',
    serverAddress: options.serverAddress,
    serverPort: options.serverPort,
    captureContent: options.captureContent ?? false,
    contentMaxLength: options.contentMaxLength ?? DEFAULT_CONTENT_MAX_LENGTH,
  };
}

/** The W3C `traceparent` a run carries in its metadata (the library writes it there), if valid. */
export function runTraceparent(run: Run | undefined): TraceParent | undefined {
  const value = run?.metadata?.['traceparent'];
  return typeof value === 'string' ? parseTraceparent(value) : undefined;
}

function byCreationThenId(a: RunStep, b: RunStep): number {
  return a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Cuts every string attribute to `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, as an SDK span would. */
function limitLengths(attributes: Attributes, limit: number): Attributes {
  if (!Number.isFinite(limit)) return attributes;
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string') out[key] = cutTo(value, limit);
    else if (Array.isArray(value)) out[key] = value.map((v) => (typeof v === 'string' ? cutTo(v, limit) : v)) as typeof value;
    else out[key] = value;
  }
  return out;
}

function span(ctx: TraceContext, data: Omit<SpanData, 'traceId' | 'attributes' | 'startTime' | 'endTime'> & {
  bounds: Bounds;
  attributes: Attributes;
}): SpanData {
  const { bounds, attributes, ...rest } = data;
  putQuirks(attributes, bounds.quirks);
  return {
    ...rest,
    traceId: ctx.traceId,
    startTime: toHrTime(bounds.start),
    endTime: toHrTime(bounds.end),
    attributes: limitLengths(attributes, ctx.attributeValueLengthLimit),
  };
}

/**
 * A key for a tool call, unique within its step: `id:<its id>`, or `index:<position>` when the id is
 * missing or repeated (a malformed record must still give distinct, stable span IDs). The prefixes
 * keep the two kinds of key from ever colliding.
 */
function toolCallKeys(calls: readonly ToolCall[]): string[] {
  const seen = new Set<string>();
  return calls.map((call, index) => {
    const id = call.id;
    if (id && !seen.has(id)) {
      seen.add(id);
      return `id:${id}`;
    }
    return `index:${index}`;
  });
}

function stepSpans(step: RunStep, bounds: Bounds, ctx: TraceContext): SpanData[] {
  const { status, errorType } = mapStatus(step.status, step.last_error);
  const details = step.step_details ? classifyStepDetails(step.step_details) : undefined;
  const stepType = step.type ?? step.step_details?.type ?? 'unknown';
  const stepSpanId = spanIdForStep(step.run_id, step.id);
  const spans: SpanData[] = [
    span(ctx, {
      subject: { kind: 'step', runId: step.run_id, stepId: step.id },
      spanId: stepSpanId,
      parentSpanId: ctx.runSpanId,
      parentIsRemote: false,
      name: `step ${stepType}`,
      kind: SpanKind.INTERNAL,
      bounds,
      attributes: stepAttributes(step, details, ctx.attributes, errorType),
      status,
      events: [],
    }),
  ];
  if (details?.kind !== 'tool_calls') return spans;
  const calls = details.details.tool_calls;
  const keys = toolCallKeys(calls);
  calls.forEach((call, index) => {
    const toolCallKey = keys[index] ?? `index:${index}`;
    const facts = toolCallAttributes(classifyToolCall(call), index, step, ctx.attributes);
    spans.push(
      span(ctx, {
        subject: { kind: 'tool_call', runId: step.run_id, stepId: step.id, toolCallKey },
        spanId: spanIdForToolCall(step.run_id, step.id, toolCallKey),
        parentSpanId: stepSpanId,
        parentIsRemote: false,
        name: `execute_tool ${facts.toolName}`,
        kind: SpanKind.INTERNAL,
        // The API has no per-call timestamps: a tool call spans its step.
        bounds: { ...bounds, quirks: [] },
        attributes: facts.attributes,
        status: { code: SpanStatusCode.UNSET },
        events: [],
      }),
    );
  });
  return spans;
}

function runSpan(run: Run, ctx: TraceContext, parent: TraceParent | undefined, latestStepEnd: number | undefined): SpanData {
  const bounds = boundsOf(run.created_at, run, latestStepEnd);
  const { status, errorType } = mapStatus(run.status, run.last_error);
  const events: SpanEventData[] = [];
  if (typeof run.started_at === 'number' && run.started_at >= bounds.start && run.started_at <= bounds.end) {
    // Queue time is the gap between the span's start and this event.
    events.push({ name: EVENT_RUN_STARTED, time: toHrTime(run.started_at), attributes: {} });
  }
  return span(ctx, {
    subject: { kind: 'run', runId: run.id, synthesized: false },
    spanId: ctx.runSpanId,
    ...(parent ? { parentSpanId: parent.spanId } : {}),
    parentIsRemote: parent !== undefined,
    name: `invoke_agent ${run.assistant_id || 'unknown'}`,
    kind: SpanKind.CLIENT,
    bounds,
    attributes: runAttributes(run, ctx.attributes, errorType),
    status,
    events,
  });
}

function synthesizedRunSpan(runId: string, steps: readonly RunStep[], stepBounds: readonly Bounds[], ctx: TraceContext): SpanData {
  const start = Math.min(...stepBounds.map((b) => b.start));
  const end = Math.max(...stepBounds.map((b) => b.end));
  return span(ctx, {
    subject: { kind: 'run', runId, synthesized: true },
    spanId: ctx.runSpanId,
    parentIsRemote: false,
    name: `invoke_agent ${steps.find((s) => s.assistant_id)?.assistant_id ?? 'unknown'}`,
    kind: SpanKind.CLIENT,
    bounds: { start, end, quirks: [] },
    attributes: synthesizedRunAttributes(runId, steps, ctx.attributes),
    status: { code: SpanStatusCode.UNSET },
    events: [],
  });
}

/**
 * Maps one run and its steps to spans: the run span first (when the run is terminal, or synthesized
 * when only steps are known), then each terminal step in creation order, each followed by its tool calls.
 */
export function mapRunToSpans(record: RunRecord, options: MappingOptions = {}): SpanData[] {
  const parent = runTraceparent(record.run);
  const ctx: TraceContext = {
    traceId: parent?.traceId ?? traceIdForRun(record.runId),
    runSpanId: spanIdForRun(record.runId),
    attributes: resolveAttributeContext(options),
    attributeValueLengthLimit: options.attributeValueLengthLimit ?? Infinity,
  };
  const terminalSteps = record.steps.filter((s) => s.run_id === record.runId && isStepTerminal(s)).sort(byCreationThenId);
  const stepBounds = terminalSteps.map((s) => boundsOf(s.created_at, s));
  const children = terminalSteps.flatMap((step, i) => stepSpans(step, stepBounds[i] as Bounds, ctx));
  const latestStepEnd = stepBounds.length > 0 ? Math.max(...stepBounds.map((b) => b.end)) : undefined;

  if (record.run) {
    return isRunTerminal(record.run) ? [runSpan(record.run, ctx, parent, latestStepEnd), ...children] : children;
  }
  if (terminalSteps.length === 0) return [];
  return [synthesizedRunSpan(record.runId, terminalSteps, stepBounds, ctx), ...children];
}
