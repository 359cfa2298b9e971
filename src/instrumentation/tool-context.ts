/**
 * The application's tool code inside its tool call's span.
 *
 * A function call's `execute_tool` span has a deterministic ID (from the run, step and tool call
 * IDs), so the application's own spans can be parented to it while the call is still waiting for
 * its outputs, long before the tool span itself is exported at the run's end:
 *
 *   for (const call of run.required_action.submit_tool_outputs.tool_calls) {
 *     outputs.push({ tool_call_id: call.id, output: await withToolCallContext(call.id, () => myTool(call)) });
 *   }
 *
 * When the run was streamed, the step is known from the stream; when it was polled, the newest step
 * is looked up once (one request) by the first call that needs it. A tool call the library does not
 * know (a run it did not create, or one already finished) leaves the context as it is. Without the
 * deterministic IDs (no `createDeterministicIdGenerator()` in the TracerProvider) the tool span will
 * get a random ID, so the code runs in the context the run was created in instead.
 */
import { context, trace, type Context } from '@opentelemetry/api';
import type { ToolCallIdentity } from './followed-run.js';
import type { RunTracker } from './tracker.js';

/** Every active tracker of the process (one per instrumented client or Instrumentation). */
const trackers = new Set<RunTracker>();

export function registerTracker(tracker: RunTracker): void {
  trackers.add(tracker);
}

export function unregisterTracker(tracker: RunTracker): void {
  trackers.delete(tracker);
}

async function find(toolCallId: string): Promise<{ tracker: RunTracker; identity: ToolCallIdentity } | undefined> {
  for (const tracker of trackers) {
    try {
      const identity = await tracker.toolCallIdentity(toolCallId);
      if (identity) return { tracker, identity };
    } catch {
      // A failed lookup leaves the context as it is; the tool code must run regardless.
    }
  }
  return undefined;
}

function contextFor(base: Context, tracker: RunTracker, identity: ToolCallIdentity): Context {
  if (tracker.sink.deterministic === false) return tracker.creationContextOf(identity.runId) ?? base;
  return trace.setSpanContext(base, { traceId: identity.traceId, spanId: identity.spanId, traceFlags: identity.traceFlags, isRemote: false });
}

/**
 * The context in which a tool call's code should run: the active context with the tool call's span
 * as the current span. `undefined` when the library does not know the call.
 */
export async function toolCallContext(toolCallId: string, base: Context = context.active()): Promise<Context | undefined> {
  const found = await find(toolCallId);
  return found ? contextFor(base, found.tracker, found.identity) : undefined;
}

/**
 * Runs `fn` with the tool call's span as the active span (see the module comment). `fn`'s result or
 * error is returned as is; a failure of the library only means `fn` runs in the current context.
 */
export async function withToolCallContext<T>(toolCallId: string, fn: () => T | Promise<T>): Promise<T> {
  const base = context.active();
  const ctx = (await toolCallContext(toolCallId, base).catch(() => undefined)) ?? base;
  return context.with(ctx, fn);
}
