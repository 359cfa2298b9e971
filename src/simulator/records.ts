// Turns internal state into the exact JSON the API returns. Field lists and order follow the spec
// (RunObject: 27 fields; RunStepObject: 16 fields) and the order of the spec's own examples.
// Rendered records share the (never mutated) configuration objects of the state: the server
// serialises them at once, and the programmatic accessors hand out deep copies.
import { isTerminalRun, type SimMessage, type SimRun, type SimStep, type SimThread, type SimToolCall, type Usage } from './model.js';
import { applyPatch } from './patch.js';

/** Scenario seconds → whole Unix seconds. */
export type EpochOf = (scenarioSeconds: number) => number;

export interface StepRenderOptions {
  /** `include[]=step_details.tool_calls[*].file_search.results[*].content` was asked for. */
  includeFileSearchContent: boolean;
  /** SSE `created`/`in_progress` events: tool calls arrive afterwards as `thread.run.step.delta`s. */
  streamSkeleton?: boolean;
}

const orNull = (epoch: EpochOf, t: number | null): number | null => (t === null ? null : epoch(t));

export function runUsage(run: SimRun): Usage | null {
  if (!isTerminalRun(run.status)) return null;
  const total = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  for (const step of run.steps) {
    total.prompt_tokens += step.usage.prompt_tokens;
    total.completion_tokens += step.usage.completion_tokens;
    total.total_tokens += step.usage.total_tokens;
  }
  return total;
}

function requiredAction(run: SimRun): unknown {
  if (run.status !== 'requires_action' || run.waiting === null) return null;
  const stepId = run.waiting.stepId;
  const step = run.steps.find((s) => s.id === stepId);
  const calls = step?.content.kind === 'tool_calls' ? step.content.toolCalls : [];
  const toolCalls = calls.flatMap((c) =>
    c.kind === 'function' ? [{ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }] : [],
  );
  return { type: 'submit_tool_outputs', submit_tool_outputs: { tool_calls: toolCalls } };
}

export function renderRun(run: SimRun, epoch: EpochOf): unknown {
  const c = run.config;
  const terminal = isTerminalRun(run.status);
  const record = {
    id: run.id,
    object: 'thread.run',
    created_at: epoch(run.createdAt),
    assistant_id: c.assistantId,
    thread_id: run.threadId,
    status: run.status,
    started_at: orNull(epoch, run.startedAt),
    // (obs: the spec's examples) a run that ended any other way than expiring shows no deadline.
    expires_at: terminal && run.status !== 'expired' ? null : epoch(run.expiresAt),
    cancelled_at: orNull(epoch, run.cancelledAt),
    failed_at: orNull(epoch, run.failedAt),
    completed_at: orNull(epoch, run.completedAt),
    required_action: requiredAction(run),
    last_error: run.lastError === null ? null : { ...run.lastError },
    model: c.model,
    instructions: c.instructions,
    tools: c.tools,
    metadata: { ...c.metadata },
    temperature: c.temperature,
    top_p: c.topP,
    max_completion_tokens: c.maxCompletionTokens,
    max_prompt_tokens: c.maxPromptTokens,
    truncation_strategy: c.truncationStrategy,
    incomplete_details: run.status === 'incomplete' ? { reason: run.incompleteReason } : null,
    usage: runUsage(run),
    response_format: c.responseFormat,
    tool_choice: c.toolChoice,
    parallel_tool_calls: c.parallelToolCalls,
  };
  return applyPatch(record, run.patch);
}

/** Outputs appear only once a step completed: a step in progress (or one that failed) has produced none yet. */
export function renderToolCall(call: SimToolCall, revealed: boolean, includeContent: boolean): Record<string, unknown> {
  switch (call.kind) {
    case 'function':
      return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments, output: call.output } };
    case 'code_interpreter': {
      const outputs = revealed
        ? call.outputs.map((o) => (o.kind === 'logs' ? { type: 'logs', logs: o.logs } : { type: 'image', image: { file_id: o.fileId } }))
        : [];
      return { id: call.id, type: 'code_interpreter', code_interpreter: { input: call.input, outputs } };
    }
    case 'file_search': {
      if (!revealed) return { id: call.id, type: 'file_search', file_search: {} };
      const results = call.results.map((r) => {
        const result: Record<string, unknown> = { file_id: r.fileId, file_name: r.fileName, score: r.score };
        if (includeContent && r.content !== null) result['content'] = [{ type: 'text', text: r.content }];
        return result;
      });
      const fileSearch: Record<string, unknown> = {};
      if (call.rankingOptions !== null) fileSearch['ranking_options'] = { ...call.rankingOptions };
      fileSearch['results'] = results;
      return { id: call.id, type: 'file_search', file_search: fileSearch };
    }
    case 'other':
      return { id: call.id, type: call.type, ...call.fields };
    default: {
      const unreachable: never = call;
      return unreachable;
    }
  }
}

export function stepType(step: SimStep): string {
  return step.content.kind === 'other' ? step.content.type : step.content.kind;
}

function stepDetails(step: SimStep, options: StepRenderOptions): unknown {
  const content = step.content;
  switch (content.kind) {
    case 'message_creation':
      return { type: 'message_creation', message_creation: { message_id: content.messageId } };
    case 'tool_calls': {
      if (options.streamSkeleton === true) return { type: 'tool_calls', tool_calls: [] };
      const revealed = step.status === 'completed';
      return {
        type: 'tool_calls',
        tool_calls: content.toolCalls.map((c) => renderToolCall(c, revealed, options.includeFileSearchContent)),
      };
    }
    case 'other':
      return { type: content.type, ...content.details };
    default: {
      const unreachable: never = content;
      return unreachable;
    }
  }
}

export function renderStep(step: SimStep, epoch: EpochOf, options: StepRenderOptions): unknown {
  const record = {
    id: step.id,
    object: 'thread.run.step',
    created_at: epoch(step.createdAt),
    run_id: step.runId,
    assistant_id: step.assistantId,
    thread_id: step.threadId,
    type: stepType(step),
    status: step.status,
    cancelled_at: orNull(epoch, step.cancelledAt),
    completed_at: orNull(epoch, step.completedAt),
    ...(step.deadline === null ? {} : { expires_at: epoch(step.deadline) }),
    expired_at: orNull(epoch, step.expiredAt),
    failed_at: orNull(epoch, step.failedAt),
    last_error: step.lastError === null ? null : { ...step.lastError },
    step_details: stepDetails(step, options),
    // "null while the run step's status is in_progress" (RunStepCompletionUsage).
    usage: step.status === 'in_progress' ? null : { ...step.usage },
    metadata: step.metadata === null ? null : { ...step.metadata },
  };
  return applyPatch(record, step.patch);
}

/** `thread.run.step.delta` carrying one tool call as it is at creation (its inputs), with its `index`. */
export function renderToolCallDelta(step: SimStep, call: SimToolCall, index: number): unknown {
  return {
    id: step.id,
    object: 'thread.run.step.delta',
    delta: { step_details: { type: 'tool_calls', tool_calls: [{ index, ...renderToolCall(call, false, false) }] } },
  };
}

export function renderThread(thread: SimThread, epoch: EpochOf): unknown {
  return { id: thread.id, object: 'thread', created_at: epoch(thread.createdAt), metadata: { ...thread.metadata }, tool_resources: {} };
}

const textContent = (text: string) => [{ type: 'text', text: { value: text, annotations: [] } }];

export function renderMessage(message: SimMessage, epoch: EpochOf): unknown {
  return {
    id: message.id,
    object: 'thread.message',
    created_at: epoch(message.createdAt),
    assistant_id: message.assistantId,
    thread_id: message.threadId,
    run_id: message.runId,
    status: message.status,
    incomplete_details: message.incompleteReason === null ? null : { reason: message.incompleteReason },
    incomplete_at: orNull(epoch, message.incompleteAt),
    completed_at: orNull(epoch, message.completedAt),
    role: message.role,
    content: message.revealed ? textContent(message.text) : [],
    attachments: [],
    metadata: {},
  };
}

export function renderMessageDelta(message: SimMessage): unknown {
  return {
    id: message.id,
    object: 'thread.message.delta',
    delta: { content: [{ index: 0, type: 'text', text: { value: message.text, annotations: [] } }] },
  };
}

/** The list envelope; `first_id`/`last_id` are null on an empty page, as observed on OpenAI list endpoints (D9). */
export function listEnvelope(data: unknown[], ids: { first: string | null; last: string | null }, hasMore: boolean): unknown {
  return { object: 'list', data, first_id: ids.first, last_id: ids.last, has_more: hasMore };
}
