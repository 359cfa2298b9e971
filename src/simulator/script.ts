// Compiles a run's script (steps and outcome, in scenario seconds) into the ordered list of
// transitions the scheduler applies. See model.ts for the meaning of "active seconds".
import type { IdFactory } from './ids.js';
import { stableInt } from './ids.js';
import type { RunAction, SimToolCall, StepContent, StepPlan, Usage } from './model.js';
import type { RunScript, StepScript, ToolCallScript } from './scenario-schema.js';

export const DEFAULT_STEP_ERROR = { code: 'server_error', message: 'Sorry, something went wrong.' };
const DEFAULT_FUNCTION_OUTPUT = '{"ok":true}';

/** A script that cannot be played as written; `path` is relative to the script (e.g. `steps[2].at`). */
export class ScriptError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ScriptError';
  }
}

export interface CompiledRun {
  program: RunAction[];
  /** Tool definitions implied by the tool calls, for runs whose tools were not given. */
  derivedTools: unknown[];
}

function toolCall(script: ToolCallScript, ids: IdFactory): SimToolCall {
  const id = script.id ?? ids.next('call_');
  // The union has a catch-all member (`type: string`), so narrow on the fields each shape owns.
  if ('name' in script) {
    const args = typeof script.arguments === 'string' ? script.arguments : JSON.stringify(script.arguments);
    return { kind: 'function', id, name: script.name, arguments: args, output: null, scriptedOutput: script.output ?? DEFAULT_FUNCTION_OUTPUT };
  }
  if ('input' in script) {
    return {
      kind: 'code_interpreter',
      id,
      input: script.input,
      outputs: script.outputs.map((o) => (o.type === 'logs' ? { kind: 'logs', logs: o.logs } : { kind: 'image', fileId: o.fileId ?? ids.next('file-') })),
    };
  }
  if ('results' in script) {
    const ranking = script.rankingOptions;
    return {
      kind: 'file_search',
      id,
      rankingOptions: ranking === undefined ? null : { ranker: ranking.ranker, score_threshold: ranking.scoreThreshold },
      results: script.results.map((r) => ({ fileId: r.fileId ?? ids.next('file-'), fileName: r.fileName, score: r.score, content: r.content ?? null })),
    };
  }
  return { kind: 'other', id, type: script.type, fields: script.fields };
}

/** Token counts that look real: prompts grow with the step's position (the context grows), completions vary. */
function defaultUsage(stepId: string, index: number): Usage {
  const prompt = 180 + 40 * index + stableInt(`${stepId}|prompt`, 120);
  const completion = 12 + stableInt(`${stepId}|completion`, 240);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function stepPlan(script: StepScript, index: number, ids: IdFactory): StepPlan {
  const id = ids.next('step_');
  let content: StepContent;
  if (script.type === 'message_creation' && 'text' in script) {
    content = { kind: 'message_creation', messageId: ids.next('msg_'), text: script.text };
  } else if (script.type === 'tool_calls' && 'toolCalls' in script) {
    content = { kind: 'tool_calls', toolCalls: script.toolCalls.map((c) => toolCall(c, ids)) };
  } else {
    content = { kind: 'other', type: script.type, details: 'details' in script ? script.details : {} };
  }
  const usage = script.usage === undefined
    ? defaultUsage(id, index)
    : { prompt_tokens: script.usage.promptTokens, completion_tokens: script.usage.completionTokens, total_tokens: script.usage.promptTokens + script.usage.completionTokens };
  return {
    id,
    content,
    usage,
    metadata: script.metadata === undefined ? {} : script.metadata,
    patch: script.patch,
    finishStatus: script.status,
    finishError: script.lastError ?? DEFAULT_STEP_ERROR,
  };
}

function deriveTools(plans: StepPlan[]): unknown[] {
  const byKey = new Map<string, unknown>();
  for (const plan of plans) {
    if (plan.content.kind !== 'tool_calls') continue;
    for (const call of plan.content.toolCalls) {
      if (call.kind === 'function') {
        byKey.set(`function:${call.name}`, { type: 'function', function: { name: call.name, description: `Calls ${call.name}.`, parameters: { type: 'object', properties: {} }, strict: false } });
      } else if (call.kind === 'other') {
        byKey.set(call.type, { type: call.type, [call.type]: {} });
      } else {
        byKey.set(call.kind, { type: call.kind });
      }
    }
  }
  // Built-in tools first, then functions in order of first use: the order an assistant would list them.
  return [...byKey.entries()].sort(([a], [b]) => Number(a.startsWith('function:')) - Number(b.startsWith('function:'))).map(([, tool]) => tool);
}

/**
 * Steps run one after another: each starts at its `at` (default: when the previous one ended) and
 * takes `durationSeconds`. A step with function calls asks for outputs when its duration is over;
 * the run is `queued` again once they arrive and `in_progress` one second later.
 */
export function compileRunScript(script: RunScript, ids: IdFactory): CompiledRun {
  const program: RunAction[] = [{ at: 0, kind: 'create' }, { at: script.queuedSeconds, kind: 'start' }];
  const plans: StepPlan[] = [];
  let cursor = script.queuedSeconds;
  let scriptedWaits = 0;
  script.steps.forEach((step, index) => {
    if (step.at !== undefined && step.at < cursor) {
      throw new ScriptError(`steps[${index}].at`, `must be >= ${cursor} (steps run one at a time; the run starts, or the previous step ends, at ${cursor} s)`);
    }
    const at = step.at ?? cursor;
    const plan = stepPlan(step, index, ids);
    plans.push(plan);
    program.push({ at, kind: 'step-create', plan });
    const end = at + step.durationSeconds;
    const needsOutputs = plan.content.kind === 'tool_calls' && plan.content.toolCalls.some((c) => c.kind === 'function');
    if (needsOutputs && step.type === 'tool_calls' && 'submittedBy' in step) {
      program.push({ at: end, kind: 'require-action', stepId: plan.id, by: step.submittedBy, submitAfterSeconds: step.submitAfterSeconds });
      program.push({ at: end + 1, kind: 'start' });
      if (step.submittedBy === 'script') scriptedWaits += step.submitAfterSeconds;
      cursor = end + 1;
    } else {
      program.push({ at: end, kind: 'step-finish', stepId: plan.id });
      cursor = end;
    }
  });
  const outcome = script.outcome;
  if (outcome.status === 'expired') return { program, derivedTools: deriveTools(plans) };

  const at = outcome.at ?? cursor + outcome.afterSeconds;
  if ((outcome.status === 'completed' || outcome.status === 'incomplete') && at < cursor) {
    throw new ScriptError('outcome.at', `a run cannot be ${outcome.status} before its last step ends (at ${cursor} s)`);
  }
  // A failure or cancellation may interrupt the script: what was scripted after it never happens.
  const kept = program.filter((a) => a.at < at || (a.at === at && a.kind === 'step-finish'));
  kept.push({ at, kind: 'end', outcome });
  const end = outcome.status === 'cancelled' ? at + 1 : at;
  if (outcome.status === 'cancelled') kept.push({ at: end, kind: 'cancelled' });
  if (end + scriptedWaits >= script.expiresAfterSeconds) {
    throw new ScriptError(
      'expiresAfterSeconds',
      `the run would expire (after ${script.expiresAfterSeconds} s) before its scripted end at ${end + scriptedWaits} s; raise expiresAfterSeconds or use outcome "expired"`,
    );
  }
  return { program: kept, derivedTools: deriveTools(plans) };
}
