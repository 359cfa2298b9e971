/**
 * Finer span times from what a client observed, consistent with the API's whole seconds.
 *
 * The API gives whole Unix seconds; a client that watched the run (stream events, its own calls)
 * knows when things happened to the millisecond, by its own clock. The two clocks may disagree (by
 * network delay, by clock skew, or entirely: a simulator playing scripted time). The rule:
 *
 * 1. Every observed time belongs to an API second (the bound it observed: a step's `created_at`,
 *    a run's end, …). One clock offset `δ` is chosen for the run so that, where possible, every
 *    observed time plus `δ` falls inside its own API second; of the offsets that do, the one
 *    closest to zero (no correction when the clocks agree). When no single offset fits them all
 *    (jitter across a second boundary, a simulated clock), the one that misses least.
 * 2. An observed bound becomes `observed + δ`, clamped into its API second: `floor(time) == the
 *    API's second` always holds, so a refined span never contradicts its record.
 * 3. A bound nobody observed keeps the API's second, raised where needed so that no span ends
 *    before it starts and a child does not start before its parent within the same second. A tool
 *    call spans its step, except that a function call ends when its outputs were submitted.
 *
 * Pure: the observations are data, the result is new span data; nothing reads a clock.
 */
import type { HrTime, SpanData, SpanEventData } from './types.js';
import { EVENT_RUN_STARTED } from './semconv.js';

/** Local epoch milliseconds at which a record's bounds were seen. */
export interface ObservedBounds {
  start?: number | undefined;
  end?: number | undefined;
}

export interface ObservedTimes {
  /** The run's creation, the moment it started (`started_at`), its end. */
  run?: ObservedBounds & { started?: number | undefined };
  /** By step id. */
  steps?: ReadonlyMap<string, ObservedBounds>;
  /** Function calls: when their outputs were submitted, by tool call id. */
  toolOutputsSubmitted?: ReadonlyMap<string, number>;
}

interface Anchor {
  /** The API's time, ms. */
  api: number;
  /** Width of the API's window, ms: 1000 for whole seconds, 0 for a finer time (already exact). */
  width: number;
  observed: number;
}

const msOf = (time: HrTime): number => time[0] * 1000 + time[1] / 1e6;

function toHr(ms: number): HrTime {
  const whole = Math.round(ms);
  const seconds = Math.floor(whole / 1000);
  return [seconds, (whole - seconds * 1000) * 1e6];
}

/** Whole seconds are a window of a second; a time the API gave more finely is exact. */
const widthOf = (time: HrTime): number => (time[1] === 0 ? 1000 : 0);

/** The clock offset (ms) to add to observed times; see the module comment. */
export function clockOffset(anchors: readonly Anchor[]): number {
  if (anchors.length === 0) return 0;
  let lo = -Infinity;
  let hi = Infinity;
  for (const a of anchors) {
    lo = Math.max(lo, a.api - a.observed);
    hi = Math.min(hi, a.api + Math.max(0, a.width - 1) - a.observed);
  }
  if (lo <= hi) return Math.min(Math.max(0, lo), hi);
  return Math.round((lo + hi) / 2);
}

const clamp = (value: number, low: number, high: number) => Math.min(Math.max(value, low), high);

function refineAt(api: HrTime, observed: number | undefined, offset: number): number | undefined {
  if (observed === undefined) return undefined;
  const base = msOf(api);
  const width = widthOf(api);
  return clamp(Math.round(observed + offset), base, base + Math.max(0, width - 1));
}

function toolCallId(span: SpanData): string | undefined {
  if (span.subject.kind !== 'tool_call') return undefined;
  const key = span.subject.toolCallKey;
  return key.startsWith('id:') ? key.slice(3) : undefined;
}

function anchorsOf(spans: readonly SpanData[], observed: ObservedTimes): Anchor[] {
  const anchors: Anchor[] = [];
  const add = (time: HrTime, at: number | undefined) => {
    if (at !== undefined && Number.isFinite(at)) anchors.push({ api: msOf(time), width: widthOf(time), observed: at });
  };
  for (const span of spans) {
    const subject = span.subject;
    if (subject.kind === 'run' && !subject.synthesized) {
      add(span.startTime, observed.run?.start);
      add(span.endTime, observed.run?.end);
      const started = span.events.find((e) => e.name === EVENT_RUN_STARTED);
      if (started) add(started.time, observed.run?.started);
    } else if (subject.kind === 'step') {
      const bounds = observed.steps?.get(subject.stepId);
      add(span.startTime, bounds?.start);
      add(span.endTime, bounds?.end);
    } else if (subject.kind === 'tool_call') {
      const id = toolCallId(span);
      if (id !== undefined) add(span.endTime, observed.toolOutputsSubmitted?.get(id));
    }
  }
  return anchors;
}

/** Within its window, never before `floor`. */
function raiseWithin(api: HrTime, floor: number | undefined): number {
  const base = msOf(api);
  if (floor === undefined) return base;
  return clamp(floor, base, base + Math.max(0, widthOf(api) - 1));
}

interface Refined {
  start: number;
  end: number;
}

/**
 * Spans with times refined by what was observed (see the module comment). Spans, IDs, names,
 * attributes and order are unchanged; only `startTime`, `endTime` and event times move.
 */
export function refineSpanTimes(spans: readonly SpanData[], observed: ObservedTimes): SpanData[] {
  const offset = clockOffset(anchorsOf(spans, observed));
  const refined = new Map<string, Refined>();
  const byId = new Map(spans.map((s) => [s.spanId, s]));

  // Starts, parents first (spans come run first, each step before its tool calls).
  const starts = new Map<string, number>();
  for (const span of spans) {
    const parentStart = span.parentSpanId !== undefined && byId.has(span.parentSpanId) ? starts.get(span.parentSpanId) : undefined;
    let start: number;
    const subject = span.subject;
    if (subject.kind === 'run') {
      start = (subject.synthesized ? undefined : refineAt(span.startTime, observed.run?.start, offset)) ?? msOf(span.startTime);
    } else if (subject.kind === 'step') {
      start = refineAt(span.startTime, observed.steps?.get(subject.stepId)?.start, offset) ?? raiseWithin(span.startTime, parentStart);
    } else {
      // A tool call starts with its step (the API has no time of its own for it).
      start = parentStart ?? msOf(span.startTime);
    }
    starts.set(span.spanId, start);
  }

  // Ends: a step ends when observed, or no earlier than the outputs it waited for; a tool call
  // ends with its step unless its outputs were seen submitted; the run covers its steps.
  const endOf = (span: SpanData): number | undefined => {
    const subject = span.subject;
    if (subject.kind === 'run') return subject.synthesized ? undefined : refineAt(span.endTime, observed.run?.end, offset);
    if (subject.kind === 'step') return refineAt(span.endTime, observed.steps?.get(subject.stepId)?.end, offset);
    const id = toolCallId(span);
    return refineAt(span.endTime, id === undefined ? undefined : observed.toolOutputsSubmitted?.get(id), offset);
  };
  const children = new Map<string, SpanData[]>();
  for (const span of spans) {
    if (span.parentSpanId === undefined) continue;
    const siblings = children.get(span.parentSpanId);
    if (siblings) siblings.push(span);
    else children.set(span.parentSpanId, [span]);
  }
  const childrenOf = (span: SpanData) => children.get(span.spanId) ?? [];
  const startOf = (span: SpanData) => starts.get(span.spanId) as number;
  const stepEnds = new Map<string, number>();
  for (const span of spans) {
    if (span.subject.kind === 'run') continue;
    const parent = span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId);
    if (span.subject.kind === 'tool_call' && parent?.subject.kind === 'step') continue; // after their step
    const submitted = childrenOf(span).map(endOf).filter((t): t is number => t !== undefined);
    const end = endOf(span) ?? raiseWithin(span.endTime, submitted.length > 0 ? Math.max(...submitted) : undefined);
    stepEnds.set(span.spanId, Math.max(end, startOf(span)));
  }
  for (const span of spans) {
    if (span.subject.kind !== 'tool_call' || span.parentSpanId === undefined || !stepEnds.has(span.parentSpanId)) continue;
    const stepEnd = stepEnds.get(span.parentSpanId) as number;
    // A tool call does not outlast its step (the step ends once the outputs it waited for arrived).
    refined.set(span.spanId, { start: startOf(span), end: Math.max(startOf(span), Math.min(endOf(span) ?? stepEnd, stepEnd)) });
  }
  for (const span of spans) {
    if (span.subject.kind === 'run') {
      const childEnds = childrenOf(span).map((c) => stepEnds.get(c.spanId)).filter((t): t is number => t !== undefined);
      const end = endOf(span) ?? raiseWithin(span.endTime, childEnds.length > 0 ? Math.max(...childEnds) : undefined);
      refined.set(span.spanId, { start: startOf(span), end: Math.max(end, startOf(span)) });
    } else if (stepEnds.has(span.spanId)) {
      refined.set(span.spanId, { start: startOf(span), end: stepEnds.get(span.spanId) as number });
    }
  }

  return spans.map((span) => {
    const times = refined.get(span.spanId) as Refined;
    const events = span.events.map((event): SpanEventData => {
      if (event.name !== EVENT_RUN_STARTED || span.subject.kind !== 'run') return event;
      const at = refineAt(event.time, observed.run?.started, offset);
      if (at === undefined) return { ...event, time: toHr(clamp(msOf(event.time), times.start, times.end)) };
      return { ...event, time: toHr(clamp(at, times.start, times.end)) };
    });
    return { ...span, startTime: toHr(times.start), endTime: toHr(times.end), events };
  });
}
