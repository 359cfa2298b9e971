/**
 * The wrappers of the `openai` SDK's run methods, shared by `instrumentOpenAI` (one client's own
 * properties) and the `Instrumentation` (the classes' prototypes). Every helper of the SDK goes
 * through four methods on the same resource objects, so four wrappers see every run:
 *
 * | wrapped                          | reached by                                                                 |
 * | `beta.threads.runs.create`       | `create` (also `stream: true`), `createAndPoll`, `stream`, `createAndStream` |
 * | `beta.threads.createAndRun`      | `createAndRun` (also `stream: true`), `createAndRunPoll`, `createAndRunStream` |
 * | `beta.threads.runs.submitToolOutputs` | itself (also `stream: true`), `submitToolOutputsAndPoll`, `submitToolOutputsStream` |
 * | `beta.threads.runs.retrieve`     | `retrieve`, and the polling of `poll` and every `…AndPoll` helper          |
 * | `beta.threads.runs.cancel`       | `cancel` (its answer: the run is `cancelling`, to be followed to its end)  |
 *
 * Each wrapper calls the SDK's own method (with the run's metadata completed for the creating
 * ones) and returns exactly what it returned. Majors 4 (positional `threadId, runId`) and 5–7
 * (`runId, { thread_id }`) are told apart by their arguments.
 */
import { context } from '@opentelemetry/api';
import type { Creation, RunSource } from './followed-run.js';
import { asHandledBy, isHandledBy } from './scope.js';
import { isStreamLike, observeStream, onParsed } from './sdk-objects.js';
import type { TracingSession } from './session.js';

export type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** What a wrapper needs to know about the resource object it was called on. */
export interface OpenAITarget {
  session: TracingSession;
  source: RunSource;
}

/** Finds the session and client of a resource object (`this` of the wrapped method), if instrumented. */
export type ResolveTarget = (resource: unknown) => OpenAITarget | undefined;

export type WrappedMethod = 'create' | 'createAndRun' | 'submitToolOutputs' | 'retrieve' | 'cancel';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The run- and thread IDs of a call, in either argument style. */
function ids(method: 'submitToolOutputs' | 'retrieve' | 'cancel', args: readonly unknown[]): { runId?: string | undefined; threadId?: string | undefined; body?: Record<string, unknown> } {
  if (typeof args[1] === 'string') {
    // Major 4: (threadId, runId, body?, options?)
    const body = method === 'submitToolOutputs' && isObject(args[2]) ? args[2] : undefined;
    return { threadId: typeof args[0] === 'string' ? args[0] : undefined, runId: args[1], ...(body ? { body } : {}) };
  }
  // Majors 5–7: (runId, { thread_id, ...body }, options?)
  const params = isObject(args[1]) ? args[1] : undefined;
  const threadId = typeof params?.['thread_id'] === 'string' ? params['thread_id'] : undefined;
  return { ...(typeof args[0] === 'string' ? { runId: args[0] } : {}), ...(threadId ? { threadId } : {}), ...(params ? { body: params } : {}) };
}

function toolCallIdsOf(body: Record<string, unknown> | undefined): string[] {
  const outputs = body?.['tool_outputs'];
  if (!Array.isArray(outputs)) return [];
  return outputs.map((o) => (isObject(o) ? o['tool_call_id'] : undefined)).filter((id): id is string => typeof id === 'string');
}

/** Hands the call's answer (a run, or a stream of its events) to the tracker. */
function followAnswer(session: TracingSession, result: unknown, creation: Creation): void {
  onParsed(result, session.guard, 'observing a created run', (value) => {
    if (isStreamLike(value)) observeStream(value, session.tracker.creationStream(creation), session.guard, () => session.now());
    else session.tracker.created(creation, value, session.now());
  });
}

/** `runs.create(threadId, params, options)` and `threads.createAndRun(params, options)`. */
export function wrapCreate(method: 'create' | 'createAndRun', original: AnyFunction, resolve: ResolveTarget): AnyFunction {
  const paramsAt = method === 'create' ? 1 : 0;
  return function (this: unknown, ...args: unknown[]) {
    const target = isHandledBy(method) ? undefined : resolve(this);
    if (!target?.session.active) return original.apply(this, args);
    const { session } = target;
    const ctx = context.active();
    const calledAt = session.now();
    const params = args[paramsAt];
    const callArgs = [...args];
    session.guard.run('preparing run metadata', () => {
      if (!isObject(params)) return;
      const plan = session.metadataFor(params['metadata'], ctx);
      if (plan.metadata) callArgs[paramsAt] = { ...params, metadata: plan.metadata };
    }, undefined);
    const result = asHandledBy(method, () => original.apply(this, callArgs));
    session.guard.run('observing a created run', () => followAnswer(session, result, { context: ctx, source: target.source, calledAt }), undefined);
    return result;
  };
}

/** `runs.submitToolOutputs`: the outputs' time ends their tool call spans; its answer goes on the run. */
export function wrapSubmitToolOutputs(original: AnyFunction, resolve: ResolveTarget): AnyFunction {
  return function (this: unknown, ...args: unknown[]) {
    const target = isHandledBy('submitToolOutputs') ? undefined : resolve(this);
    if (!target?.session.active) return original.apply(this, args);
    const { session } = target;
    const at = session.now();
    const result = asHandledBy('submitToolOutputs', () => original.apply(this, args));
    session.guard.run('observing submitted tool outputs', () => {
      const { runId, threadId, body } = ids('submitToolOutputs', args);
      if (runId === undefined || !session.tracker.isFollowing(runId)) return;
      const streamed = body?.['stream'] === true;
      const follower = session.tracker.submitted(runId, threadId, toolCallIdsOf(body), at, streamed);
      onParsed(result, session.guard, 'observing submitted tool outputs', (value) => {
        if (isStreamLike(value) && follower) observeStream(value, follower, session.guard, () => session.now());
        else session.tracker.observeRun(value, session.now(), 'answer');
      });
    }, undefined);
    return result;
  };
}

/**
 * `runs.retrieve`: the application's own reads of a followed run (its SDK's polling included);
 * `runs.cancel`: its answer (`cancelling`), after which the run is followed to its end.
 */
export function wrapRunRead(method: 'retrieve' | 'cancel', original: AnyFunction, resolve: ResolveTarget): AnyFunction {
  return function (this: unknown, ...args: unknown[]) {
    const target = isHandledBy(method) ? undefined : resolve(this);
    if (!target?.session.active) return original.apply(this, args);
    const result = asHandledBy(method, () => original.apply(this, args));
    const { session } = target;
    session.guard.run('observing a run read', () => {
      const { runId } = ids(method, args);
      if (runId === undefined || !session.tracker.isFollowing(runId)) return;
      onParsed(result, session.guard, 'observing a run read', (value) => session.tracker.observeRun(value, session.now(), method === 'retrieve' ? 'read' : 'answer'));
    }, undefined);
    return result;
  };
}

export function wrapperFor(method: WrappedMethod, original: AnyFunction, resolve: ResolveTarget): AnyFunction {
  switch (method) {
    case 'create':
    case 'createAndRun':
      return wrapCreate(method, original, resolve);
    case 'submitToolOutputs':
      return wrapSubmitToolOutputs(original, resolve);
    case 'retrieve':
    case 'cancel':
      return wrapRunRead(method, original, resolve);
  }
}
