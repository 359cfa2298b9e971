/**
 * `instrumentOpenAI(client)`: the runs of one `openai` client (majors 4 to 7, `OpenAI` and
 * `AzureOpenAI`) traced in the application's own trace. The five run methods of that client get
 * wrappers as own properties (see openai-wrappers.ts); `uninstrument()` removes them, so every
 * method is again the SDK's own function, found on its class as before.
 */
import { OWN_READ_HEADER, type RunReader, type RunSource } from './followed-run.js';
import { wrapperFor, type AnyFunction, type OpenAITarget, type WrappedMethod } from './openai-wrappers.js';
import { attachHandle, existingHandle, inertHandle, type InstrumentationHandle } from './handle.js';
import { asHandledBy } from './scope.js';
import { sourceMappingOptions } from '../mapping/source.js';
import { TracingSession, type InstrumentOptions } from './session.js';

export type { InstrumentationHandle } from './handle.js';

type Method = (...args: never[]) => unknown;

/** The part of an `openai` client this uses; every major's `OpenAI` and `AzureOpenAI` fit it. */
export interface OpenAIClientLike {
  baseURL?: string;
  beta: {
    threads: {
      createAndRun: Method;
      runs: { create: Method; submitToolOutputs: Method; retrieve: Method; cancel: Method; steps: { list: Method } };
    };
  };
}

interface PageLike {
  data?: unknown;
  hasNextPage?: () => boolean;
}

type Runs = OpenAIClientLike['beta']['threads']['runs'];

/** Major 4 takes `(threadId, runId)`; majors 5 to 7 `(runId, { thread_id })` (and have `withOptions`). */
export function isPositionalClient(client: unknown): boolean {
  return typeof (client as { withOptions?: unknown } | null)?.withOptions !== 'function';
}

/** How the library reads a run and its steps with the application's own client. */
export function openAIReader(runs: Runs, retrieve: AnyFunction, positional: boolean): RunReader {
  const call = (fn: AnyFunction, self: unknown, args: unknown[]) => asHandledBy('retrieve', () => fn.apply(self, args)) as Promise<unknown>;
  const options = { headers: { [OWN_READ_HEADER]: '1' } };
  return {
    getRun: (threadId, runId) => call(retrieve, runs, positional ? [threadId, runId, options] : [runId, { thread_id: threadId }, options]),
    async listSteps(threadId, runId, query) {
      const q = { order: query.order, limit: query.limit, ...(query.after !== undefined ? { after: query.after } : {}) };
      const list = runs.steps.list as unknown as AnyFunction;
      const page = (await list.apply(runs.steps, positional ? [threadId, runId, q, options] : [runId, { thread_id: threadId, ...q }, options])) as PageLike;
      return { data: Array.isArray(page.data) ? page.data : [], hasMore: typeof page.hasNextPage === 'function' ? page.hasNextPage() : false };
    },
  };
}

/** `gen_ai.provider.name` of a client: `AzureOpenAI` has an `apiVersion`. */
export function openAIProviderName(client: unknown): string {
  const c = client as { apiVersion?: unknown; constructor?: { name?: unknown } } | null;
  return typeof c?.apiVersion === 'string' || c?.constructor?.name === 'AzureOpenAI' ? 'azure.ai.openai' : 'openai';
}

export function openAISource(session: TracingSession, client: unknown, runs: Runs, retrieve: AnyFunction): RunSource {
  const baseURL = (client as { baseURL?: unknown } | null)?.baseURL;
  return {
    reader: openAIReader(runs, retrieve, isPositionalClient(client)),
    // Decided as every other path decides them, so the library's spans equal the sidecar's and import's.
    mapping: sourceMappingOptions({ providerName: session.providerName(openAIProviderName(client)), baseUrl: typeof baseURL === 'string' ? baseURL : undefined }),
  };
}

interface Patch {
  object: Record<string, unknown>;
  name: string;
  before: PropertyDescriptor | undefined;
}

function patch(object: object, name: WrappedMethod, wrapper: (original: AnyFunction) => AnyFunction, patches: Patch[]): void {
  const target = object as Record<string, unknown>;
  const original = target[name];
  if (typeof original !== 'function') return;
  patches.push({ object: target, name, before: Object.getOwnPropertyDescriptor(target, name) });
  Object.defineProperty(target, name, { value: wrapper(original as AnyFunction), writable: true, configurable: true, enumerable: false });
}

/**
 * Traces the runs of `client` in the application's trace (see the README, "Library"). Returns a
 * handle whose `uninstrument()` restores the client exactly.
 */
export function instrumentOpenAI(client: OpenAIClientLike, options: InstrumentOptions = {}): InstrumentationHandle {
  const existing = existingHandle(client);
  if (existing) return existing;
  const session = new TracingSession(options);
  const threads = (client as Partial<OpenAIClientLike> | null)?.beta?.threads;
  const runs = threads?.runs;
  if (!threads || !runs || typeof runs.retrieve !== 'function') {
    // Not a client this knows (a major without the Assistants API, say): leave it as it is.
    session.guard.warnOnce('not-openai', 'assistants-otel: instrumentOpenAI: this client has no beta.threads.runs; it is not instrumented');
    session.stop();
    return inertHandle();
  }
  const originalRetrieve = runs.retrieve as unknown as AnyFunction;
  const target: OpenAITarget = { session, source: openAISource(session, client, runs, originalRetrieve) };
  const resolve = () => target;
  const patches: Patch[] = [];
  patch(runs, 'create', (original) => wrapperFor('create', original, resolve), patches);
  patch(runs, 'submitToolOutputs', (original) => wrapperFor('submitToolOutputs', original, resolve), patches);
  patch(runs, 'retrieve', (original) => wrapperFor('retrieve', original, resolve), patches);
  patch(runs, 'cancel', (original) => wrapperFor('cancel', original, resolve), patches);
  patch(threads, 'createAndRun', (original) => wrapperFor('createAndRun', original, resolve), patches);

  return attachHandle(client, session, () => {
    for (const { object, name, before } of patches.reverse()) {
      if (before) Object.defineProperty(object, name, before);
      else delete object[name];
    }
  });
}
