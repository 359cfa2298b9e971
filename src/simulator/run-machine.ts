// Applies one transition to a run and describes it as the stream events the API would send.
import type { RunAction, SimMessage, SimRun, SimStep, StepStatus } from './model.js';
import { renderMessage, renderMessageDelta, renderRun, renderStep, renderToolCallDelta, type EpochOf } from './records.js';
import { DEFAULT_STEP_ERROR } from './script.js';

/** One SSE event; `dataWithContent` is set when a stream that asked for file-search content must see other data. */
export interface StreamEvent {
  event: string;
  data: unknown;
  dataWithContent?: unknown;
}

export interface MachineContext {
  epoch: EpochOf;
  /** Null when nobody streams this run: then no event is rendered at all (benchmarks create many runs). */
  emit: ((event: StreamEvent) => void) | null;
  addMessage(message: SimMessage): void;
  findMessage(threadId: string, messageId: string): SimMessage | undefined;
}

// Step errors allow only these codes (D3); a run's `invalid_prompt` shows on its steps as a server error.
const STEP_ERROR_CODES = ['server_error', 'rate_limit_exceeded'];

function emitRun(run: SimRun, ctx: MachineContext, event: string): void {
  ctx.emit?.({ event, data: renderRun(run, ctx.epoch) });
}

function emitStep(step: SimStep, ctx: MachineContext, event: string, skeleton = false): void {
  if (ctx.emit === null) return;
  const data = renderStep(step, ctx.epoch, { includeFileSearchContent: false, streamSkeleton: skeleton });
  const hasContent = step.content.kind === 'tool_calls' && step.content.toolCalls.some((c) => c.kind === 'file_search' && c.results.some((r) => r.content !== null));
  const dataWithContent = hasContent ? renderStep(step, ctx.epoch, { includeFileSearchContent: true, streamSkeleton: skeleton }) : undefined;
  ctx.emit(dataWithContent === undefined ? { event, data } : { event, data, dataWithContent });
}

function createStep(run: SimRun, action: Extract<RunAction, { kind: 'step-create' }>, t: number, ctx: MachineContext): void {
  const step: SimStep = {
    ...action.plan,
    runId: run.id,
    threadId: run.threadId,
    assistantId: run.config.assistantId,
    createdAt: t,
    status: 'in_progress',
    lastError: null,
    completedAt: null,
    failedAt: null,
    cancelledAt: null,
    expiredAt: null,
    deadline: run.stepExpiresAt ? run.expiresAt : null,
  };
  run.steps.push(step);
  emitStep(step, ctx, 'thread.run.step.created', true);
  emitStep(step, ctx, 'thread.run.step.in_progress', true);
  const content = step.content;
  if (content.kind === 'tool_calls') {
    content.toolCalls.forEach((call, index) => ctx.emit?.({ event: 'thread.run.step.delta', data: renderToolCallDelta(step, call, index) }));
  } else if (content.kind === 'message_creation') {
    const message: SimMessage = {
      id: content.messageId,
      threadId: run.threadId,
      createdAt: t,
      role: 'assistant',
      text: content.text,
      assistantId: run.config.assistantId,
      runId: run.id,
      status: 'in_progress',
      completedAt: null,
      incompleteAt: null,
      incompleteReason: null,
      revealed: false,
    };
    ctx.addMessage(message);
    ctx.emit?.({ event: 'thread.message.created', data: renderMessage(message, ctx.epoch) });
    ctx.emit?.({ event: 'thread.message.in_progress', data: renderMessage(message, ctx.epoch) });
  }
}

function finishMessage(step: SimStep, status: StepStatus, t: number, ctx: MachineContext): void {
  if (step.content.kind !== 'message_creation') return;
  const message = ctx.findMessage(step.threadId, step.content.messageId);
  if (message === undefined) return;
  if (status === 'completed') {
    message.status = 'completed';
    message.completedAt = t;
    message.revealed = true;
    ctx.emit?.({ event: 'thread.message.delta', data: renderMessageDelta(message) });
    ctx.emit?.({ event: 'thread.message.completed', data: renderMessage(message, ctx.epoch) });
  } else {
    message.status = 'incomplete';
    message.incompleteAt = t;
    message.incompleteReason = status === 'failed' ? 'run_failed' : status === 'cancelled' ? 'run_cancelled' : 'run_expired';
    ctx.emit?.({ event: 'thread.message.incomplete', data: renderMessage(message, ctx.epoch) });
  }
}

/** Ends a step; its usage (and, if completed, its outputs) become visible with it. */
export function finishStep(step: SimStep, status: Exclude<StepStatus, 'in_progress'>, t: number, ctx: MachineContext, error?: { code: string; message: string }): void {
  step.status = status;
  if (status === 'completed') step.completedAt = t;
  if (status === 'failed') {
    step.failedAt = t;
    const e = error ?? step.finishError;
    step.lastError = STEP_ERROR_CODES.includes(e.code) ? { ...e } : { ...DEFAULT_STEP_ERROR };
  }
  if (status === 'cancelled') step.cancelledAt = t;
  if (status === 'expired') step.expiredAt = t;
  finishMessage(step, status, t, ctx);
  emitStep(step, ctx, `thread.run.step.${status}`);
}

function interruptSteps(run: SimRun, status: 'failed' | 'cancelled' | 'expired', t: number, ctx: MachineContext): void {
  for (const step of run.steps) if (step.status === 'in_progress') finishStep(step, status, t, ctx, run.lastError ?? undefined);
}

export function applyAction(run: SimRun, action: RunAction, t: number, ctx: MachineContext): void {
  switch (action.kind) {
    case 'create':
      run.visible = true;
      run.status = 'queued';
      emitRun(run, ctx, 'thread.run.created');
      emitRun(run, ctx, 'thread.run.queued');
      return;
    case 'start':
      run.status = 'in_progress';
      run.startedAt ??= t;
      emitRun(run, ctx, 'thread.run.in_progress');
      return;
    case 'step-create':
      createStep(run, action, t, ctx);
      return;
    case 'step-finish': {
      const step = run.steps.find((s) => s.id === action.stepId);
      if (step !== undefined && step.status === 'in_progress') finishStep(step, step.finishStatus, t, ctx);
      return;
    }
    case 'require-action':
      run.status = 'requires_action';
      run.waiting = { stepId: action.stepId, by: action.by, submitAt: action.by === 'script' ? t + action.submitAfterSeconds : null, actionAt: action.at };
      emitRun(run, ctx, 'thread.run.requires_action');
      return;
    case 'end':
      endRun(run, action.outcome, t, ctx);
      return;
    case 'cancelled':
      run.status = 'cancelled';
      run.cancelledAt = t;
      interruptSteps(run, 'cancelled', t, ctx);
      emitRun(run, ctx, 'thread.run.cancelled');
      return;
    default: {
      const unreachable: never = action;
      throw new Error(`unknown action ${JSON.stringify(unreachable)}`);
    }
  }
}

function endRun(run: SimRun, outcome: Extract<RunAction, { kind: 'end' }>['outcome'], t: number, ctx: MachineContext): void {
  run.waiting = null;
  switch (outcome.status) {
    case 'completed':
    case 'incomplete':
      run.status = outcome.status;
      // Assumption (unverified): an incomplete run records when it stopped in completed_at.
      run.completedAt = t;
      if (outcome.status === 'incomplete') run.incompleteReason = outcome.reason;
      emitRun(run, ctx, `thread.run.${outcome.status}`);
      return;
    case 'failed':
      run.lastError = { ...outcome.lastError };
      interruptSteps(run, 'failed', t, ctx);
      run.status = 'failed';
      run.failedAt = t;
      emitRun(run, ctx, 'thread.run.failed');
      return;
    case 'cancelled':
      run.status = 'cancelling';
      emitRun(run, ctx, 'thread.run.cancelling');
      return;
  }
}

/** Outputs arrived (from a client or the script): the waiting step completes and the run is queued again. */
export function submitOutputs(run: SimRun, outputs: ReadonlyMap<string, string>, t: number, ctx: MachineContext): void {
  const waiting = run.waiting;
  if (waiting === null) return;
  const step = run.steps.find((s) => s.id === waiting.stepId);
  if (step !== undefined && step.content.kind === 'tool_calls') {
    for (const call of step.content.toolCalls) {
      if (call.kind === 'function') call.output = outputs.get(call.id) ?? call.scriptedOutput;
    }
    finishStep(step, step.finishStatus, t, ctx);
  }
  // Time spent waiting does not count against the script: later steps keep their spacing.
  run.activeOrigin = t - waiting.actionAt;
  run.waiting = null;
  run.status = 'queued';
  emitRun(run, ctx, 'thread.run.queued');
}

/** A client asked to cancel: `cancelling` now, `cancelled` one second later; the rest of the script is dropped. */
export function beginCancel(run: SimRun, t: number, ctx: MachineContext): void {
  run.waiting = null;
  run.program = [...run.program.slice(0, run.cursor), { at: t + 1 - run.activeOrigin, kind: 'cancelled' }];
  run.status = 'cancelling';
  emitRun(run, ctx, 'thread.run.cancelling');
}

export function expireRun(run: SimRun, t: number, ctx: MachineContext): void {
  run.waiting = null;
  interruptSteps(run, 'expired', t, ctx);
  run.status = 'expired';
  emitRun(run, ctx, 'thread.run.expired');
}
