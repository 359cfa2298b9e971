/**
 * The run tracker: follows every run the application creates through an instrumented client, from
 * what the application's own calls show (answers, stream events, its SDK's polling), and reads only
 * what they do not show, within one request budget:
 *
 * - a run streamed from creation to its end: no request at all (the stream holds every record);
 * - a run whose status the application reads itself (`createAndPoll`, its own loop): no status
 *   read of ours while its reads keep coming;
 * - otherwise its status once per poll interval after the last one seen, from any source; a run
 *   waiting for tool outputs the application knows it must give (it saw `requires_action` in its
 *   stream or its own read) is not read until its deadline (`expires_at`), unless something else
 *   shows it moved; one waiting for outputs that come from elsewhere is read less and less often;
 *   a stream the application abandons turns into polling;
 * - once it ends, its steps are listed (one page per 100) only if some were not seen in a stream.
 * Then its spans are mapped as `import` maps them, refined with the times seen, and emitted.
 *
 * Nothing here throws into the application: every entry point is guarded by the callers, and the
 * timers' work is guarded here.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { RequestBudget } from '../api/budget.js';
import type { RunStep } from '../api/schemas.js';
import type { MappingOptions } from '../mapping/types.js';
import { FollowedRun, type Creation, type ToolCallIdentity } from './followed-run.js';
import type { Guard } from './guard.js';
import type { SpanSink } from './sink.js';
import { deadlineOf, holdForApplicationRead, nextStep } from './follow-policy.js';
import { StreamFollower } from './stream-follower.js';
import type { StreamObservation } from './stream.js';

export interface TrackerOptions {
  sink: SpanSink;
  guard: Guard;
  budget: RequestBudget;
  mapping: MappingOptions;
  /** Own status reads come this long after the last status seen. */
  pollIntervalMillis: number;
  now: () => number;
}

/** Pages of 100 steps, the API's largest. */
const STEPS_PAGE = 100;

function httpStatus(error: unknown): number | undefined {
  const e = error as { status?: unknown; statusCode?: unknown } | null;
  const status = e?.status ?? e?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export class RunTracker {
  private readonly runs = new Map<string, FollowedRun>();
  private readonly finalizing = new Set<Promise<void>>();
  private readonly lookups = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly options: TrackerOptions) {}

  get sink(): SpanSink {
    return this.options.sink;
  }

  isFollowing(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** A run created by a call that was not streamed: its answer. */
  created(creation: Creation, raw: unknown, at: number): void {
    const runId = (raw as { id?: unknown } | null)?.id;
    if (typeof runId !== 'string' || runId === '') return;
    const followed = this.beginFollowing(runId, creation, at, false);
    followed.seen.run.start ??= at;
    this.observeRun(raw, at);
  }

  /** A stream that will create a run (its id comes with the first event). */
  creationStream(creation: Creation): StreamFollower {
    return new StreamFollower(this, creation);
  }

  /**
   * Outputs submitted for a run's function calls, at `at`. With `streamed`, the answer is a stream
   * (returned); otherwise the answer will come through `observeRun`, and the run goes on unseen.
   */
  submitted(runId: string, threadId: string | undefined, toolCallIds: readonly string[], at: number, streamed: boolean): StreamFollower | undefined {
    const followed = this.runs.get(runId);
    if (!followed) return undefined;
    followed.threadId ??= threadId;
    for (const id of toolCallIds) followed.seen.submits.set(id, at);
    if (!streamed) {
      followed.gap = true;
      return undefined;
    }
    return new StreamFollower(this, undefined, followed);
  }

  /**
   * A run record the application's call returned: `read` for a retrieve (its SDK's poll helper or
   * its own loop), `answer` for the answer to a call that changed the run (a submit, a cancel).
   */
  observeRun(raw: unknown, at: number, how: 'read' | 'answer' = 'answer'): void {
    const runId = (raw as { id?: unknown } | null)?.id;
    const followed = typeof runId === 'string' ? this.runs.get(runId) : undefined;
    if (!followed || followed.state !== 'following') return;
    if (!followed.observeRun(raw, at)) return;
    followed.noteWaiting('app');
    // While the application keeps reading the run, ours wait: zero extra reads under its polling.
    if (how === 'read') holdForApplicationRead(followed, at);
    this.advance(followed);
  }

  beginFollowing(runId: string, creation: Creation, at: number, streamedFromCreation: boolean): FollowedRun {
    let followed = this.runs.get(runId);
    if (!followed) {
      followed = new FollowedRun(runId, creation, at, { streamed: streamedFromCreation });
      this.runs.set(runId, followed);
    }
    return followed;
  }

  applyStreamObservation(followed: FollowedRun, observation: StreamObservation, at: number): void {
    if (followed.state !== 'following') return;
    switch (observation.kind) {
      case 'run': {
        if (observation.runId !== followed.runId) return;
        if (observation.phase === 'created') followed.seen.run.start ??= at;
        if (observation.phase === 'started') followed.seen.run.started ??= at;
        if (observation.phase === 'terminal') followed.seen.run.end ??= at;
        followed.observeRun(observation.record, at);
        followed.noteWaiting('app');
        break;
      }
      case 'step': {
        const stepId = followed.observeStep(observation.record);
        if (stepId === undefined) return;
        const seen = followed.seen.steps.get(stepId) ?? {};
        if (observation.phase === 'created') seen.start ??= at;
        if (observation.phase === 'terminal') seen.end ??= at;
        followed.seen.steps.set(stepId, seen);
        break;
      }
      case 'step_delta':
        if (observation.stepId !== undefined && followed.hasStep(observation.stepId)) followed.learnToolCalls(observation.stepId, observation.toolCallIds);
        return;
      default:
        return;
    }
    // A run event may end the run (finish it) or start its deadline (the stream's safety net).
    if (observation.kind === 'run') this.advance(followed);
  }

  streamEnded(followed: FollowedRun, how: 'done' | 'closed' | 'error'): void {
    followed.streams = Math.max(0, followed.streams - 1);
    const status = followed.run?.status;
    // A stream ends by design at the run's end or when it needs tool outputs; anything else left a gap.
    if (how === 'error' || !(followed.isTerminal() || status === 'requires_action')) followed.gap = true;
    this.advance(followed);
  }

  /** Decides what comes next for a run: finish it, wait for the application, or read it ourselves. */
  private advance(followed: FollowedRun): void {
    if (this.stopped || followed.state !== 'following') return;
    const now = this.options.now();
    const next = nextStep(followed, now, this.options.pollIntervalMillis);
    switch (next.kind) {
      case 'finish':
        this.finalize(followed);
        return;
      case 'give_up':
        this.options.guard.warnOnce(`give-up:${followed.runId}`, 'assistants-otel: a run did not end within an hour of its deadline; it is no longer followed and not traced', { run_id: followed.runId });
        this.forget(followed);
        return;
      case 'read':
        this.schedule(followed, Math.max(0, next.at - now));
        return;
    }
  }

  private schedule(followed: FollowedRun, delayMillis: number): void {
    if (followed.timer) clearTimeout(followed.timer);
    followed.timer = setTimeout(() => {
      followed.timer = undefined;
      void this.readOwn(followed);
    }, delayMillis);
    followed.timer.unref();
  }

  /** Our own status read (the application's calls did not show the run for a poll interval). */
  private async readOwn(followed: FollowedRun): Promise<void> {
    if (this.stopped || followed.state !== 'following') return;
    if (followed.threadId === undefined) {
      this.options.guard.warnOnce('no-thread', 'assistants-otel: a run without a known thread cannot be read; it is not traced', { run_id: followed.runId });
      this.forget(followed);
      return;
    }
    try {
      followed.lastOwnReadAt = this.options.now();
      const raw = await this.ownRequest(() => followed.creation.source.reader.getRun(followed.threadId as string, followed.runId));
      followed.failures = 0;
      // A stream or poll that had gone silent is not to be waited for any more.
      if (this.options.now() >= deadlineOf(followed)) {
        followed.readsPastDeadline++;
        followed.streams = 0;
        followed.appReadHoldUntil = 0;
        followed.gap = true;
      }
      if (!followed.observeRun(raw, this.options.now())) throw new Error('the API answered something that is not this run');
      followed.noteWaiting('own');
    } catch (error) {
      if (httpStatus(error) === 404) {
        this.options.guard.warnOnce(`gone:${followed.runId}`, 'assistants-otel: a followed run is gone (404); it is not traced', { run_id: followed.runId });
        this.forget(followed);
        return;
      }
      followed.failures++;
      this.options.guard.report('reading a run', error);
    }
    this.advance(followed);
  }

  /** A request of ours: within the budget, outside any trace (no HTTP spans of the app's instrumentations). */
  private async ownRequest<T>(request: () => Promise<T>): Promise<T> {
    const release = await this.options.budget.acquire();
    try {
      return await context.with(suppressTracing(ROOT_CONTEXT), request);
    } finally {
      release();
    }
  }

  private finalize(followed: FollowedRun): void {
    followed.state = 'finalizing';
    if (followed.timer) clearTimeout(followed.timer);
    const work = this.finish(followed).finally(() => this.finalizing.delete(work));
    this.finalizing.add(work);
  }

  private async finish(followed: FollowedRun): Promise<void> {
    // Not inside the SDK call that showed the end: the application gets its last event first.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      const steps = followed.needsStepListing() ? await this.listSteps(followed) : followed.steps();
      if (this.stopped) return;
      const spans = followed.spans(steps, this.options.mapping);
      this.options.sink.emit({ runId: followed.runId, spans, creation: followed.creation.context, remoteParentFlags: followed.parentFlags() });
    } catch (error) {
      this.options.guard.report('tracing a finished run', error);
    } finally {
      followed.state = 'done';
      this.forget(followed);
    }
  }

  /** Every step of the run, one page per 100, oldest first; on failure what the streams showed. */
  private async listSteps(followed: FollowedRun): Promise<RunStep[]> {
    const threadId = followed.threadId;
    if (threadId === undefined) return followed.steps();
    for (let attempt = 1; ; attempt++) {
      try {
        let after: string | undefined;
        for (;;) {
          const page = await this.ownRequest(() => followed.creation.source.reader.listSteps(threadId, followed.runId, { order: 'asc', limit: STEPS_PAGE, after }));
          for (const raw of page.data) followed.observeStep(raw);
          const last = page.data.at(-1) as { id?: unknown } | undefined;
          if (!page.hasMore || typeof last?.id !== 'string' || last.id === after) break;
          after = last.id;
        }
        return followed.steps();
      } catch (error) {
        this.options.guard.report('listing a run’s steps', error);
        if (attempt >= 3 || this.stopped) return followed.steps();
        await new Promise((resolve) => setTimeout(resolve, this.options.pollIntervalMillis * attempt).unref());
      }
    }
  }

  /** The tool call's span identity, when the call belongs to a followed run (looked up if needed). */
  async toolCallIdentity(toolCallId: string): Promise<ToolCallIdentity | undefined> {
    for (const followed of this.runs.values()) {
      const known = followed.toolCallIdentity(toolCallId);
      if (known) return known;
    }
    const waiting = [...this.runs.values()].find((f) => f.awaitedCalls.has(toolCallId) && f.threadId !== undefined);
    if (!waiting) return undefined;
    // Polled runs name their awaited calls but not the step holding them: the newest step does.
    let lookup = this.lookups.get(waiting.runId);
    if (!lookup) {
      lookup = this.ownRequest(() => waiting.creation.source.reader.listSteps(waiting.threadId as string, waiting.runId, { order: 'desc', limit: 1 }))
        .then((page) => {
          for (const raw of page.data) waiting.observeStep(raw);
        })
        .finally(() => this.lookups.delete(waiting.runId));
      this.lookups.set(waiting.runId, lookup);
    }
    await lookup;
    return waiting.toolCallIdentity(toolCallId);
  }

  /** The context a run was created in, for a tool call of that run (the fallback without deterministic IDs). */
  creationContextOf(runId: string) {
    return this.runs.get(runId)?.creation.context;
  }

  /** Resolves once every finished run seen so far has been handed to the sink, and the sink flushed. */
  async flush(): Promise<void> {
    while (this.finalizing.size > 0) await Promise.allSettled([...this.finalizing]);
    await this.options.sink.flush();
  }

  /** Stops following: timers cleared, nothing more read or emitted. */
  stop(): void {
    this.stopped = true;
    for (const followed of this.runs.values()) if (followed.timer) clearTimeout(followed.timer);
    this.runs.clear();
  }

  private forget(followed: FollowedRun): void {
    if (followed.timer) clearTimeout(followed.timer);
    if (this.runs.get(followed.runId) === followed) this.runs.delete(followed.runId);
  }
}
