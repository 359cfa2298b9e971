/**
 * The trace model: a pure function from one run and its steps to spans.
 *
 *   invoke_agent {assistant}            CLIENT    one per run (synthesized when only steps are known)
 *   └─ step {type}                      INTERNAL  one per terminal step
 *      └─ execute_tool {tool}           INTERNAL  one per tool call of a `tool_calls` step
 *
 * No clock, no randomness, no I/O: the same input gives the same spans, IDs and attribute order.
 * Only terminal records become spans; a run that is still going yields the spans of its finished
 * steps, and their parent, the run span, follows once the run is terminal. One-shot imports, which
 * may never see the run end, ask for an unfinished run span instead (`unfinishedRunSpans`).
 */
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { isRunTerminal, isStepTerminal } from '../api/lifecycle.js';
import { recordQuirks } from '../api/quirks.js';
import { describeValue } from '../api/validate-parts.js';
import { classifyStepDetails, classifyToolCall, type Run, type RunStep, type ToolCall } from '../api/schemas.js';
import { putQuirks, runAttributes, stepAttributes, synthesizedRunAttributes, type AttributeContext } from './attributes.js';
import { cutTo, DEFAULT_CONTENT_MAX_LENGTH } from './content.js';
import { MappingError } from './errors.js';
import { parseTraceparent, spanIdForRun, spanIdForStep, spanIdForToolCall, traceIdForRun, type TraceParent } from './ids.js';
import { sanitizeAttributes } from './sanitize.js';
import { ATTR_API_END_SECONDS, ATTR_API_START_SECONDS, ATTR_RUN_UNFINISHED, EVENT_RUN_STARTED } from './semconv.js';
import { mapStatus } from './status.js';
import { QUIRK_TIME_PLACEHOLDER, runOwnStart, stepsEarliestStart, untimedPlacement } from './placement.js';
import { boundsOf, QUIRK_START_MISSING, QUIRK_TIME_UNKNOWN, secondsOf, toHrTime, type Bounds, type Placement } from './time.js';
import { toolCallAttributes } from './tool-attributes.js';
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

function span(
  ctx: TraceContext,
  data: Omit<SpanData, 'traceId' | 'attributes' | 'startTime' | 'endTime'> & { bounds: Bounds; attributes: Attributes; recordQuirks?: readonly string[] },
): SpanData {
  const { bounds, attributes, recordQuirks: fromRecord = [], ...rest } = data;
  // The API's seconds stay as attributes, so spans whose times were refined still say what the records said.
  attributes[ATTR_API_START_SECONDS] = bounds.start;
  attributes[ATTR_API_END_SECONDS] = bounds.end;
  const limit = ctx.attributeValueLengthLimit;
  const clean = sanitizeAttributes(attributes, limit);
  const quirks = [...bounds.quirks, ...fromRecord, ...clean.quirks];
  putQuirks(clean.attributes, Number.isFinite(limit) ? quirks.map((q) => cutTo(q, limit)) : quirks);
  return {
    ...rest,
    traceId: ctx.traceId,
    startTime: toHrTime(bounds.start),
    endTime: toHrTime(bounds.end),
    attributes: clean.attributes,
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
      recordQuirks: recordQuirks(step),
      status,
      events: [],
    }),
  ];
  if (details?.kind !== 'tool_calls') return spans;
  const calls = details.details.tool_calls;
  const keys = toolCallKeys(calls);
  // A tool call spans its step; when the step's time is unknown, so is the call's, and it says so.
  const borrowed = bounds.quirks.filter((q) => q === QUIRK_TIME_UNKNOWN || q === QUIRK_TIME_PLACEHOLDER);
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
        bounds: { ...bounds, quirks: borrowed },
        attributes: facts.attributes,
        status: { code: SpanStatusCode.UNSET },
        events: [],
      }),
    );
  });
  return spans;
}

/**
 * The run span. A finished run is bounded by its own timestamps; an unfinished one (one-shot
 * imports only) ends at its last known activity, with UNSET status and `assistants.run.unfinished`.
 * A run without any usable time spans its steps (`placement.ts`).
 */
function runSpan(run: Run, ctx: TraceContext, parent: TraceParent | undefined, activity: Activity, unfinished: boolean): SpanData {
  const untimed: Placement = { ...activity.untimed, end: activity.latestStepEnd };
  const bounds = unfinished
    ? unfinishedBounds(run, activity)
    : boundsOf(run.created_at, run, { end: activity.latestStepEnd, otherStarts: [run.started_at], untimed });
  const { status, errorType } = unfinished ? { status: { code: SpanStatusCode.UNSET }, errorType: undefined } : mapStatus(run.status, run.last_error);
  const events: SpanEventData[] = [];
  const startedAt = secondsOf(run.started_at, []);
  if (startedAt !== undefined && startedAt >= bounds.start && startedAt <= bounds.end) {
    // Queue time is the gap between the span's start and this event.
    events.push({ name: EVENT_RUN_STARTED, time: toHrTime(startedAt), attributes: {} });
  }
  const attributes = runAttributes(run, ctx.attributes, errorType);
  if (unfinished) attributes[ATTR_RUN_UNFINISHED] = true;
  return span(ctx, {
    subject: { kind: 'run', runId: run.id, synthesized: false },
    spanId: ctx.runSpanId,
    ...(parent ? { parentSpanId: parent.spanId } : {}),
    parentIsRemote: parent !== undefined,
    name: `invoke_agent ${run.assistant_id || 'unknown'}`,
    kind: SpanKind.CLIENT,
    bounds,
    attributes,
    recordQuirks: recordQuirks(run),
    status,
    events,
  });
}

/** What the steps say about a run's time, and where its records without a time go. */
interface Activity {
  /** The latest end of a finished step. */
  latestStepEnd: number | undefined;
  /** The latest activity seen: a step's start or end (unfinished runs only). */
  latestActivity: number | undefined;
  untimed: Placement;
}

/** From the run's start to its last known activity: its `started_at`, a step's start or end. */
function unfinishedBounds(run: Run, activity: Activity): Bounds {
  const quirks: string[] = [];
  let start = secondsOf(run.created_at, quirks);
  if (start === undefined) {
    // Only a hand-built run gets here with a time elsewhere: validation moves it into created_at.
    start = runOwnStart(run);
    if (start !== undefined) quirks.push(QUIRK_START_MISSING);
    else {
      start = activity.untimed.start;
      quirks.push(QUIRK_TIME_UNKNOWN, ...activity.untimed.quirks);
    }
  }
  const candidates = [start, secondsOf(run.started_at, quirks), activity.latestActivity].filter((t): t is number => t !== undefined);
  return { start, end: Math.max(...candidates), quirks };
}

function synthesizedRunSpan(runId: string, steps: readonly RunStep[], stepBounds: readonly Bounds[], untimed: Placement, ctx: TraceContext): SpanData {
  const start = Math.min(...stepBounds.map((b) => b.start));
  const end = Math.max(...stepBounds.map((b) => b.end));
  // Only when none of its steps had a time of its own does the run's place need explaining.
  const timeless = stepBounds.every((b) => b.quirks.includes(QUIRK_TIME_UNKNOWN));
  return span(ctx, {
    subject: { kind: 'run', runId, synthesized: true },
    spanId: ctx.runSpanId,
    parentIsRemote: false,
    name: `invoke_agent ${steps.find((s) => s.assistant_id)?.assistant_id ?? 'unknown'}`,
    kind: SpanKind.CLIENT,
    bounds: { start, end, quirks: timeless ? [QUIRK_TIME_UNKNOWN, ...untimed.quirks] : [] },
    attributes: synthesizedRunAttributes(runId, steps, ctx.attributes),
    status: { code: SpanStatusCode.UNSET },
    events: [],
  });
}

/** Span IDs are derived from the provider's IDs: without them there is nothing to name a span by. */
function requireIds(runId: unknown, steps: readonly RunStep[]): void {
  const bad = (id: unknown) => typeof id !== 'string' || id === '';
  const shown = (id: unknown) => (id === undefined ? 'undefined' : id === '' ? 'an empty string' : describeValue(id));
  if (bad(runId)) throw new MappingError(`a run record needs a run id, got ${shown(runId)}`);
  for (const [index, step] of steps.entries()) {
    if (bad(step.id)) throw new MappingError(`step ${index} of run ${String(runId)} has no id (got ${shown(step.id)})`, String(runId));
  }
}

function traceContext(runId: string, parent: TraceParent | undefined, options: MappingOptions): TraceContext {
  return {
    traceId: parent?.traceId ?? traceIdForRun(runId),
    runSpanId: spanIdForRun(runId),
    attributes: resolveAttributeContext(options),
    attributeValueLengthLimit: options.attributeValueLengthLimit ?? Infinity,
  };
}

/** Terminal steps with their bounds, in creation order (then id); a step without a time goes to `untimed`. */
function terminalSteps(steps: readonly RunStep[], untimed: Placement): Array<{ step: RunStep; bounds: Bounds }> {
  return steps
    .filter(isStepTerminal)
    .map((step) => ({ step, bounds: boundsOf(step.created_at, step, { untimed }) }))
    .sort((a, b) => a.bounds.start - b.bounds.start || (a.step.id < b.step.id ? -1 : a.step.id > b.step.id ? 1 : 0));
}

/**
 * Maps one run and its steps to spans: the run span first (when the run is terminal, or synthesized
 * when only steps are known, or unfinished when asked for), then each terminal step in creation
 * order, each followed by its tool calls. A record without any usable time is placed by its run
 * (`placement.ts`), never dropped.
 *
 * @throws MappingError for a hand-built record the validation boundary would have rejected: no run
 *   id, or a step without an id (its span ID is derived from it).
 */
export function mapRunToSpans(record: RunRecord, options: MappingOptions = {}): SpanData[] {
  const ownSteps = record.steps.filter((s) => s.run_id === record.runId);
  requireIds(record.runId, ownSteps);
  const parent = runTraceparent(record.run);
  const ctx = traceContext(record.runId, parent, options);
  const stepsStart = stepsEarliestStart(ownSteps);
  const untimed = untimedPlacement((record.run ? runOwnStart(record.run) : undefined) ?? stepsStart);
  const terminal = terminalSteps(ownSteps, untimed);
  const children = terminal.flatMap(({ step, bounds }) => stepSpans(step, bounds, ctx));
  const latestStepEnd = terminal.length > 0 ? Math.max(...terminal.map((t) => t.bounds.end)) : undefined;
  // An untimed run spans its steps: from their earliest start (`untimed`) to their latest end.
  const activity: Activity = { latestStepEnd, latestActivity: undefined, untimed };

  if (record.run) {
    if (isRunTerminal(record.run)) return [runSpan(record.run, ctx, parent, activity, false), ...children];
    if (!options.unfinishedRunSpans || terminal.length === 0) return children;
    const stepStarts = ownSteps.flatMap((s) => secondsOf(s.created_at, []) ?? []);
    const latestActivity = Math.max(...stepStarts, ...(latestStepEnd !== undefined ? [latestStepEnd] : []));
    return [runSpan(record.run, ctx, parent, { ...activity, latestActivity }, true), ...children];
  }
  if (terminal.length === 0) return [];
  return [synthesizedRunSpan(record.runId, terminal.map((t) => t.step), terminal.map((t) => t.bounds), untimed, ctx), ...children];
}

/** What a run's steps take from it: its trace (a `traceparent`'s, when it has one) and its own start. */
export interface StepContext {
  parent: TraceParent | undefined;
  /** `runOwnStart(run)`: where a step without any usable time is placed. */
  runStart: number | undefined;
}

export function stepContextOf(run: Run): StepContext {
  return { parent: runTraceparent(run), runStart: runOwnStart(run) };
}

/**
 * The step and tool call spans of some of a run's steps, without the run span: exactly the spans
 * `mapRunToSpans` gives those steps when the run record has its own start (`context.runStart`),
 * for a run whose run span is accounted for elsewhere (a streaming import that meets a step of a
 * run it has already sent). A step's spans then depend only on the step and the run's context.
 */
export function mapStepsToSpans(runId: string, steps: readonly RunStep[], context: StepContext, options: MappingOptions = {}): SpanData[] {
  const ownSteps = steps.filter((s) => s.run_id === runId);
  requireIds(runId, ownSteps);
  const ctx = traceContext(runId, context.parent, options);
  const untimed = untimedPlacement(context.runStart ?? stepsEarliestStart(ownSteps));
  return terminalSteps(ownSteps, untimed).flatMap(({ step, bounds }) => stepSpans(step, bounds, ctx));
}
