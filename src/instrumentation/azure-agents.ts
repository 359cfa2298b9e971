/**
 * `instrumentAzureAgents(client)`: the runs of one `@azure/ai-agents` `AgentsClient` (1.x) traced in
 * the application's own trace, from the wire records its HTTP pipeline carries (azure-policy.ts).
 * `uninstrument()` removes the policy; no function of the client is ever replaced.
 */
import { OWN_READ_HEADER, type RunReader } from './followed-run.js';
import { createCapturePolicy, CAPTURE_POLICY_NAME, type PipelinePolicyLike } from './azure-policy.js';
import { attachHandle, existingHandle, inertHandle, type InstrumentationHandle } from './handle.js';
import { inScope } from './scope.js';
import { TracingSession, type InstrumentOptions } from './session.js';

/** The part of an `AgentsClient` this uses. */
export interface AgentsClientLike {
  pipeline: {
    addPolicy(policy: never, options?: never): void;
    removePolicy(options: { name?: string }): unknown;
    getOrderedPolicies?(): Array<{ name: string }>;
  };
  runs: { get(threadId: string, runId: string, options?: never): PromiseLike<unknown> };
  runSteps: { list(threadId: string, runId: string, options?: never): { byPage(): AsyncIterator<unknown> } };
}

const OWN_READ = { [OWN_READ_HEADER]: '1' };

/** Runs `call` with the pipeline handing its answer's raw JSON to us; returns the last one. */
async function captured(call: () => PromiseLike<unknown> | Promise<unknown>): Promise<unknown> {
  let raw: unknown;
  await inScope({ capture: (value) => (raw = value) }, () => call());
  return raw;
}

/** How the library reads a run and its steps with the application's own client (raw wire JSON). */
export function agentsReader(client: AgentsClientLike): RunReader {
  return {
    getRun: (threadId, runId) => captured(() => client.runs.get(threadId, runId, { requestOptions: { headers: OWN_READ } } as never)),
    async listSteps(threadId, runId, query) {
      const options = { order: query.order, limit: query.limit, ...(query.after !== undefined ? { after: query.after } : {}), requestOptions: { headers: OWN_READ } } as never;
      // The SDK's pager follows `nextLink`, which this API does not send: one call is one page.
      const envelope = (await captured(() => client.runSteps.list(threadId, runId, options).byPage().next())) as { data?: unknown; has_more?: unknown } | undefined;
      return { data: Array.isArray(envelope?.data) ? envelope.data : [], hasMore: envelope?.has_more === true };
    },
  };
}

/** The rest-level client context `createAgents` returns (the `Instrumentation` patches it there). */
export interface AgentsContextLike {
  pipeline: AgentsClientLike['pipeline'];
  path(path: string, ...params: string[]): { get(options?: { queryParameters?: Record<string, unknown>; headers?: Record<string, string> }): PromiseLike<{ status: string; body: unknown }> };
}

/** A reader on the rest-level context: its answers' bodies are the wire JSON already. */
export function agentsContextReader(ctx: AgentsContextLike): RunReader {
  const get = async (path: string, params: string[], query?: Record<string, unknown>) => {
    // Marked as ours, so the capture policy does not take it for the application's own read.
    const response = await inScope({ capture: () => {} }, () => ctx.path(path, ...params).get({ headers: OWN_READ, ...(query ? { queryParameters: query } : {}) }));
    if (response.status !== '200') throw Object.assign(new Error(`GET ${path}: HTTP ${response.status}`), { statusCode: Number(response.status) });
    return response.body;
  };
  return {
    getRun: (threadId, runId) => get('/threads/{threadId}/runs/{runId}', [threadId, runId]),
    async listSteps(threadId, runId, query) {
      const body = (await get('/threads/{threadId}/runs/{runId}/steps', [threadId, runId], {
        order: query.order,
        limit: query.limit,
        ...(query.after !== undefined ? { after: query.after } : {}),
      })) as { data?: unknown; has_more?: unknown } | undefined;
      return { data: Array.isArray(body?.data) ? body.data : [], hasMore: body?.has_more === true };
    },
  };
}

/** Adds the capture policy to a client's pipeline; returns how to take it out again. */
export function addCapturePolicy(client: { pipeline: AgentsClientLike['pipeline'] }, policy: PipelinePolicyLike): () => void {
  const present = client.pipeline.getOrderedPolicies?.().some((p) => p.name === CAPTURE_POLICY_NAME) ?? false;
  if (!present) client.pipeline.addPolicy(policy as never);
  return () => {
    if (!present) client.pipeline.removePolicy({ name: CAPTURE_POLICY_NAME });
  };
}

/**
 * Traces the runs of an `AgentsClient` in the application's trace (see the README, "Library").
 * `server.address` / `server.port` name the API the requests went to (`endpoint` overrides it).
 */
export function instrumentAzureAgents(client: AgentsClientLike, options: InstrumentOptions & { endpoint?: string } = {}): InstrumentationHandle {
  const existing = existingHandle(client);
  if (existing) return existing;
  const session = new TracingSession(options);
  const pipeline = (client as Partial<AgentsClientLike> | null)?.pipeline;
  if (typeof pipeline?.addPolicy !== 'function' || typeof pipeline.removePolicy !== 'function') {
    session.guard.warnOnce('not-agents', 'assistants-otel: instrumentAzureAgents: this client has no HTTP pipeline; it is not instrumented');
    session.stop();
    return inertHandle();
  }
  const remove = addCapturePolicy(
    client,
    createCapturePolicy(() => session, { reader: agentsReader(client), providerName: session.providerName('azure.ai.agents'), endpoint: options.endpoint }),
  );
  return attachHandle(client, session, remove);
}
