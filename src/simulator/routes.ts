// The Assistants v2 routes for threads, runs, run steps and messages.
import type { ServerResponse } from 'node:http';
import { addThread, settledNow, startRunNow, type Core } from './core.js';
import { errors } from './errors.js';
import type { SimRun } from './model.js';
import type { OperationId } from './operations.js';
import { byCreation, paginate, parseInclude, parseListQuery } from './pagination.js';
import { listEnvelope, renderMessage, renderRun, renderStep, renderThread } from './records.js';
import * as bodies from './request-body.js';
import type { StreamEvent } from './run-machine.js';
import { openEventStream } from './sse.js';
import type { RunParams } from './world.js';

export interface RouteRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export type RouteAnswer =
  | { kind: 'json'; status: number; body: unknown }
  | { kind: 'stream'; start(res: ServerResponse, headers: Record<string, string>): void };

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  /** Path parameter names, in the order they appear. */
  keys: string[];
  operation: OperationId;
  handle(core: Core, req: RouteRequest): RouteAnswer;
}

const json = (body: unknown): RouteAnswer => ({ kind: 'json', status: 200, body });

function requireThread(core: Core, threadId: string) {
  const thread = core.state.thread(threadId);
  if (thread === undefined) throw errors.notFound('thread', threadId);
  return thread;
}

function requireRun(core: Core, threadId: string, runId: string): SimRun {
  requireThread(core, threadId);
  const run = core.state.findRun(threadId, runId);
  if (run === undefined) throw errors.notFound('run', runId);
  return run;
}

function runParams(body: bodies.CreateRunBody): RunParams {
  const params: RunParams = { assistant_id: body.assistant_id };
  if (typeof body.model === 'string') params.model = body.model;
  if (typeof body.instructions === 'string') params.instructions = body.instructions; // null: the assistant's own
  if (body.metadata !== undefined && body.metadata !== null) params.metadata = body.metadata;
  if (body.tools !== undefined && body.tools !== null) params.tools = body.tools;
  if (typeof body.temperature === 'number') params.temperature = body.temperature;
  if (typeof body.top_p === 'number') params.top_p = body.top_p;
  if (body.max_prompt_tokens !== undefined) params.max_prompt_tokens = body.max_prompt_tokens;
  if (body.max_completion_tokens !== undefined) params.max_completion_tokens = body.max_completion_tokens;
  if (body.truncation_strategy !== undefined) params.truncation_strategy = body.truncation_strategy;
  if (body.tool_choice !== undefined) params.tool_choice = body.tool_choice;
  if (body.response_format !== undefined) params.response_format = body.response_format;
  if (body.parallel_tool_calls !== undefined) params.parallel_tool_calls = body.parallel_tool_calls;
  return params;
}

/** Creates the run; with `stream: true` the answer is the run's event stream, `first` events going ahead of it. */
function createRunAnswer(core: Core, threadId: string, body: bodies.CreateRunBody, req: RouteRequest, first: StreamEvent[] = []): RouteAnswer {
  const active = core.state.activeRun(threadId);
  if (active !== undefined) throw errors.activeRun(threadId, active.id);
  const include = parseInclude(req.query).fileSearchContent;
  const params = runParams(body);
  const now = settledNow(core);
  for (const m of body.additional_messages ?? []) {
    core.state.addMessage({ ...addMessageFields(core, threadId, now), role: m.role, text: bodies.messageText(m.content) });
  }
  const script = core.scriptFor(params);
  if (body.stream !== true) return json(renderRun(startRunNow(core, threadId, params, script).run, core.epoch));
  return {
    kind: 'stream',
    start(res, headers) {
      let unsubscribe = () => {};
      const stream = openEventStream(res, headers, include, () => unsubscribe());
      first.forEach((e) => stream.send(e));
      ({ unsubscribe } = startRunNow(core, threadId, params, script, (e) => stream.send(e)));
      if (stream.ended) unsubscribe();
    },
  };
}

function addMessageFields(core: Core, threadId: string, t: number) {
  return {
    id: core.ids.next('msg_'),
    threadId,
    createdAt: t,
    assistantId: null,
    runId: null,
    status: 'completed' as const,
    completedAt: t,
    incompleteAt: null,
    incompleteReason: null,
    revealed: true,
  };
}

function submitToolOutputs(core: Core, req: RouteRequest): RouteAnswer {
  const body = bodies.parseBody(bodies.submitToolOutputsBody, req.body);
  const run = requireRun(core, req.params['thread_id'] ?? '', req.params['run_id'] ?? '');
  const t = settledNow(core);
  if (run.status !== 'requires_action' || run.waiting === null) throw errors.noToolOutputsAccepted(run.status);
  const waitingStepId = run.waiting.stepId;
  const step = run.steps.find((s) => s.id === waitingStepId);
  const expected = step?.content.kind === 'tool_calls' ? step.content.toolCalls.filter((c) => c.kind === 'function').map((c) => c.id) : [];
  const given = body.tool_outputs.map((o) => o.tool_call_id);
  if (expected.length !== given.length || !expected.every((id) => given.includes(id))) throw errors.toolOutputsMismatch(expected, given);
  const outputs = new Map(body.tool_outputs.map((o) => [o.tool_call_id, o.output]));
  if (body.stream !== true) {
    core.state.submit(run, outputs, t);
    return json(renderRun(run, core.epoch));
  }
  return {
    kind: 'stream',
    start(res, headers) {
      let unsubscribe = () => {};
      const stream = openEventStream(res, headers, false, () => unsubscribe());
      unsubscribe = core.state.subscribe(run.id, (e) => stream.send(e));
      core.state.submit(run, outputs, t);
      core.state.settle(t);
    },
  };
}

function cancelRun(core: Core, req: RouteRequest): RouteAnswer {
  const run = requireRun(core, req.params['thread_id'] ?? '', req.params['run_id'] ?? '');
  const t = settledNow(core);
  if (!['queued', 'in_progress', 'requires_action'].includes(run.status)) throw errors.cannotCancel(run.status);
  core.state.cancel(run, t);
  return json(renderRun(run, core.epoch));
}

function list<T extends { id: string }>(items: readonly T[], createdAt: (item: T) => number, query: URLSearchParams, render: (item: T) => unknown): RouteAnswer {
  const page = paginate(byCreation(items, createdAt), parseListQuery(query));
  const first = page.items[0]?.id ?? null;
  const last = page.items[page.items.length - 1]?.id ?? null;
  return json(listEnvelope(page.items.map(render), { first, last }, page.hasMore));
}

const ID = '([^/]+)';
const route = (method: Route['method'], path: string, operation: OperationId, handle: Route['handle']): Route => ({
  method,
  pattern: new RegExp(`^${path.replace(/\{[a-z_]+\}/g, ID)}$`),
  keys: [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1] ?? ''),
  operation,
  handle,
});

export const ROUTES: readonly Route[] = [
  route('POST', '/threads', 'createThread', (core, req) => {
    const body = bodies.parseBody(bodies.createThreadBody, req.body);
    const messages = (body.messages ?? []).map((m) => ({ role: m.role, text: bodies.messageText(m.content) }));
    return json(renderThread(addThread(core, body.metadata ?? {}, messages, settledNow(core)), core.epoch));
  }),
  route('GET', '/threads/{thread_id}', 'getThread', (core, req) => json(renderThread(requireThread(core, req.params['thread_id'] ?? ''), core.epoch))),
  route('POST', '/threads/runs', 'createThreadAndRun', (core, req) => {
    const body = bodies.parseBody(bodies.createThreadAndRunBody, req.body);
    const messages = (body.thread?.messages ?? []).map((m) => ({ role: m.role, text: bodies.messageText(m.content) }));
    const thread = addThread(core, body.thread?.metadata ?? {}, messages, settledNow(core));
    return createRunAnswer(core, thread.id, body, req, [{ event: 'thread.created', data: renderThread(thread, core.epoch) }]);
  }),
  route('GET', '/threads/{thread_id}/runs', 'listRuns', (core, req) => {
    const threadId = requireThread(core, req.params['thread_id'] ?? '').id;
    return list(core.state.visibleRuns(threadId), (r) => core.epoch(r.createdAt), req.query, (r) => renderRun(r, core.epoch));
  }),
  route('POST', '/threads/{thread_id}/runs', 'createRun', (core, req) => {
    const body = bodies.parseBody(bodies.createRunBody, req.body);
    return createRunAnswer(core, requireThread(core, req.params['thread_id'] ?? '').id, body, req);
  }),
  route('GET', '/threads/{thread_id}/runs/{run_id}', 'getRun', (core, req) => json(renderRun(requireRun(core, req.params['thread_id'] ?? '', req.params['run_id'] ?? ''), core.epoch))),
  route('POST', '/threads/{thread_id}/runs/{run_id}/submit_tool_outputs', 'submitToolOuputsToRun', submitToolOutputs),
  route('POST', '/threads/{thread_id}/runs/{run_id}/cancel', 'cancelRun', cancelRun),
  route('GET', '/threads/{thread_id}/runs/{run_id}/steps', 'listRunSteps', (core, req) => {
    const run = requireRun(core, req.params['thread_id'] ?? '', req.params['run_id'] ?? '');
    const includeFileSearchContent = parseInclude(req.query).fileSearchContent;
    return list(run.steps, (s) => core.epoch(s.createdAt), req.query, (s) => renderStep(s, core.epoch, { includeFileSearchContent }));
  }),
  route('GET', '/threads/{thread_id}/runs/{run_id}/steps/{step_id}', 'getRunStep', (core, req) => {
    const run = requireRun(core, req.params['thread_id'] ?? '', req.params['run_id'] ?? '');
    const stepId = req.params['step_id'] ?? '';
    const step = run.steps.find((s) => s.id === stepId);
    if (step === undefined) throw errors.notFound('step', stepId);
    return json(renderStep(step, core.epoch, { includeFileSearchContent: parseInclude(req.query).fileSearchContent }));
  }),
  route('GET', '/threads/{thread_id}/messages', 'listMessages', (core, req) => {
    const threadId = requireThread(core, req.params['thread_id'] ?? '').id;
    const runId = req.query.get('run_id');
    const messages = core.state.messages(threadId).filter((m) => runId === null || m.runId === runId);
    return list(messages, (m) => core.epoch(m.createdAt), req.query, (m) => renderMessage(m, core.epoch));
  }),
  route('POST', '/threads/{thread_id}/messages', 'createMessage', (core, req) => {
    const body = bodies.parseBody(bodies.createMessageBody, req.body);
    const threadId = requireThread(core, req.params['thread_id'] ?? '').id;
    const active = core.state.activeRun(threadId);
    if (active !== undefined) throw errors.messageWhileActive(threadId, active.id);
    const message = { ...addMessageFields(core, threadId, settledNow(core)), role: body.role, text: bodies.messageText(body.content) };
    core.state.addMessage(message);
    return json(renderMessage(message, core.epoch));
  }),
];

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // not valid percent-encoding: look it up as sent (it will not be found)
  }
}

export interface MatchedRoute {
  route: Route;
  params: Record<string, string>;
}

/** The route for a method and path, or null (the API answers both unknown paths and methods with 404 "Invalid URL"). */
export function matchRoute(method: string, path: string): MatchedRoute | null {
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (m === null || r.method !== method) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => (params[k] = safeDecode(m[i + 1] ?? '')));
    return { route: r, params };
  }
  return null;
}
