/**
 * What the library knows about one run it follows: the latest records, when each bound was seen
 * (local clock), whether every step was seen in a stream (then no step listing is needed), and
 * which tool call belongs to which step. Plain bookkeeping; the tracker does the I/O and timing.
 */
import { trace, TraceFlags, type Context } from '@opentelemetry/api';
import { isRunTerminal, isStepTerminal } from '../api/lifecycle.js';
import type { Run, RunStep } from '../api/schemas.js';
import { validateRun, validateRunStep } from '../api/validate.js';
import { formatTraceparent, parseTraceparent, spanIdForToolCall, traceIdForRun, type TraceParent } from '../mapping/ids.js';
import { refineSpanTimes, type ObservedBounds } from '../mapping/refine.js';
import { mapRunToSpans, runTraceparent } from '../mapping/run-to-spans.js';
import type { MappingOptions, SpanData } from '../mapping/types.js';

/**
 * Sent with every read the library makes itself, so the API's logs (and tests) tell them from the
 * application's own calls.
 */
export const OWN_READ_HEADER = 'x-assistants-otel-read';

/** How the library reads what the application's calls did not show, with the application's client. */
export interface RunReader {
  /** The run as the API returns it (raw JSON). */
  getRun(threadId: string, runId: string): Promise<unknown>;
  /** One page of a run's steps (raw JSON), at most `limit` (≤ 100). */
  listSteps(threadId: string, runId: string, query: { order: 'asc' | 'desc'; limit: number; after?: string | undefined }): Promise<{ data: unknown[]; hasMore: boolean }>;
}

/** Where a run came from: the client that made it, and what the spans say about that API. */
export interface RunSource {
  reader: RunReader;
  mapping: Pick<MappingOptions, 'providerName' | 'serverAddress' | 'serverPort'>;
}

/** One created run, as the instrumented call saw it. */
export interface Creation {
  /** The context active when the application created the run: its span parents the run span. */
  context: Context;
  source: RunSource;
  /** Local epoch ms of the call. */
  calledAt: number;
}

export interface ToolCallIdentity {
  runId: string;
  stepId: string;
  traceId: string;
  spanId: string;
  /** The run's trace flags (those of the span it was created under; sampled for a root). */
  traceFlags: number;
}

export type FollowState = 'following' | 'finalizing' | 'done';

const number = (value: unknown) => (typeof value === 'number' ? value : undefined);

/** `isStepTerminal` on a record not validated yet (a malformed field counts as absent). */
function rawStepTerminal(raw: Record<string, unknown>): boolean {
  return isStepTerminal({
    id: '',
    run_id: '',
    ...(typeof raw['status'] === 'string' ? { status: raw['status'] } : {}),
    completed_at: number(raw['completed_at']),
    failed_at: number(raw['failed_at']),
    cancelled_at: number(raw['cancelled_at']),
    expired_at: number(raw['expired_at']),
  });
}

export class FollowedRun {
  threadId: string | undefined;
  run: Run | undefined;
  /**
   * The newest record of each step, as it came (a terminal one is never replaced by a live one).
   * Validated once, at the end: a stream repeats each step several times (created, in progress, done).
   */
  private readonly stepRecords = new Map<string, { raw: Record<string, unknown>; terminal: boolean }>();
  readonly seen = { run: {} as ObservedBounds & { started?: number }, steps: new Map<string, ObservedBounds>(), submits: new Map<string, number>() };
  /** Some part of the run was not seen in a stream: its steps must be listed at the end. */
  gap: boolean;
  /** Streams of this run being read now. */
  streams = 0;
  /** The application reads the run itself (its SDK's poll helper, or its own loop): ours wait until then. */
  appReadHoldUntil = 0;
  lastAppReadAt: number | undefined;
  /** Local epoch ms of the last status seen, from any source. */
  lastStatusAt: number;
  readonly firstSeenAt: number;
  /** Tool call id → step id; and the calls a `requires_action` named whose step is not known yet. */
  readonly toolCallSteps = new Map<string, string>();
  readonly awaitedCalls = new Set<string>();
  /** The run waits for tool outputs: who saw it (the application will answer; or only we did), and our reads since. */
  waiting: { seenBy: 'app' | 'own'; ownReads: number } | undefined;
  state: FollowState = 'following';
  /** Consecutive failed reads of our own, and when the last one started. */
  failures = 0;
  lastOwnReadAt: number | undefined;
  /** Reads of ours after the deadline (the run should have ended): each one waits longer. */
  readsPastDeadline = 0;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly runId: string,
    readonly creation: Creation,
    at: number,
    options: { streamed: boolean },
  ) {
    this.gap = !options.streamed;
    this.lastStatusAt = at;
    this.firstSeenAt = at;
  }

  /** Keeps the newer record of the run; a terminal one is never replaced by a live one. */
  observeRun(raw: unknown, at: number): boolean {
    const result = validateRun(raw);
    if (!result.ok || result.value.id !== this.runId) return false;
    const next = result.value;
    if (this.run && isRunTerminal(this.run) && !isRunTerminal(next)) return true;
    this.run = next;
    this.threadId ??= next.thread_id;
    this.lastStatusAt = at;
    for (const call of next.required_action?.submit_tool_outputs?.tool_calls ?? []) {
      if (!this.toolCallSteps.has(call.id)) this.awaitedCalls.add(call.id);
    }
    return true;
  }

  /** Keeps a step's record (raw JSON); returns its id, or undefined when it is not a step of this run. */
  observeStep(raw: unknown): string | undefined {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
    const record = raw as Record<string, unknown>;
    const id = record['id'];
    if (typeof id !== 'string' || id === '' || record['run_id'] !== this.runId) return undefined;
    const terminal = rawStepTerminal(record);
    if (!this.stepRecords.get(id)?.terminal || terminal) this.stepRecords.set(id, { raw: record, terminal });
    const details = record['step_details'] as { type?: unknown; tool_calls?: unknown } | undefined;
    if (details?.type === 'tool_calls' && Array.isArray(details.tool_calls)) {
      this.learnToolCalls(id, details.tool_calls.map((c) => (c as { id?: unknown } | null)?.id).filter((callId): callId is string => typeof callId === 'string'));
    }
    return id;
  }

  hasStep(stepId: string): boolean {
    return this.stepRecords.has(stepId);
  }

  /** The steps seen, through the validation boundary (one that cannot be placed is left out). */
  steps(): RunStep[] {
    const steps: RunStep[] = [];
    for (const { raw } of this.stepRecords.values()) {
      const result = validateRunStep(raw);
      if (result.ok) steps.push(result.value);
    }
    return steps;
  }

  learnToolCalls(stepId: string, toolCallIds: readonly string[]): void {
    for (const id of toolCallIds) {
      this.toolCallSteps.set(id, stepId);
      this.awaitedCalls.delete(id);
    }
  }

  /** After a record was seen by `who`: keeps track of a wait for tool outputs. */
  noteWaiting(who: 'app' | 'own'): void {
    if (this.run?.status !== 'requires_action') {
      this.waiting = undefined;
      return;
    }
    if (who === 'app') this.waiting = { seenBy: 'app', ownReads: 0 };
    else if (this.waiting?.seenBy !== 'app') this.waiting = { seenBy: 'own', ownReads: (this.waiting?.ownReads ?? 0) + 1 };
  }

  isTerminal(): boolean {
    return this.run !== undefined && isRunTerminal(this.run);
  }

  /** Every step seen in streams, each terminal: the records are complete without listing. */
  needsStepListing(): boolean {
    return this.gap || [...this.stepRecords.values()].some((s) => !s.terminal);
  }

  /** The parent of the run span: the run's own traceparent, else the span active at creation. */
  parent(): { traceparent: TraceParent | undefined; local: boolean } {
    const creation = trace.getSpanContext(this.creation.context);
    const valid = creation && trace.isSpanContextValid(creation) ? creation : undefined;
    const own = runTraceparent(this.run);
    const local = valid !== undefined && (own === undefined || (own.traceId === valid.traceId && own.spanId === valid.spanId));
    if (own) return { traceparent: own, local };
    return { traceparent: valid ? { traceId: valid.traceId, spanId: valid.spanId, traceFlags: valid.traceFlags } : undefined, local };
  }

  toolCallIdentity(toolCallId: string): ToolCallIdentity | undefined {
    const stepId = this.toolCallSteps.get(toolCallId);
    if (stepId === undefined) return undefined;
    const parent = this.parent().traceparent;
    return {
      runId: this.runId,
      stepId,
      traceId: parent?.traceId ?? traceIdForRun(this.runId),
      spanId: spanIdForToolCall(this.runId, stepId, `id:${toolCallId}`),
      traceFlags: parent?.traceFlags ?? TraceFlags.SAMPLED,
    };
  }

  /** The run's spans from its records (as `import` maps them), with the finer times seen. */
  spans(steps: readonly RunStep[], mapping: MappingOptions): SpanData[] {
    const run = this.run as Run;
    const { traceparent, local } = this.parent();
    // A run created under a span but without a traceparent in its metadata (writing it was off, or
    // no room) is still parented in-process, as if the traceparent had been there.
    const mapped = traceparent && !runTraceparent(run) ? { ...run, metadata: { ...(run.metadata ?? {}), traceparent: formatTraceparent(traceparent) } } : run;
    const spans = mapRunToSpans({ runId: this.runId, run: mapped, steps: [...steps] }, { ...mapping, ...this.creation.source.mapping });
    const withLocalParent = spans.map((span) => (span.subject.kind === 'run' && local ? { ...span, parentIsRemote: false } : span));
    return refineSpanTimes(withLocalParent, { run: this.seen.run, steps: this.seen.steps, toolOutputsSubmitted: this.seen.submits });
  }

  /** Trace flags of the run span's parent when it is known only by its traceparent. */
  parentFlags(): number | undefined {
    const value = this.run?.metadata?.['traceparent'];
    return typeof value === 'string' ? parseTraceparent(value)?.traceFlags : undefined;
  }
}
