// Builds the simulator's state from a scenario, and turns run scripts and creation requests into runs.
import type { IdFactory } from './ids.js';
import type { RunConfig, SimMessage } from './model.js';
import { runScriptSchema, type RunScript, type RunScriptInput, type Scenario, type ScenarioRun } from './scenario-schema.js';
import { flattenIssues, ScenarioError } from './scenario.js';
import { isRunTemplateName, runTemplateNames, runTemplates } from './scenarios/templates.js';
import { compileRunScript, ScriptError } from './script.js';
import type { SimulatorState } from './state.js';

export interface RunDefaults {
  assistantId: string;
  model: string;
  instructions: string | null;
}

/** Creation parameters, named like the API's request body fields. */
export interface RunParams {
  assistant_id?: string;
  model?: string;
  instructions?: string | null;
  metadata?: Record<string, string>;
  tools?: unknown[];
  temperature?: number;
  top_p?: number;
  max_prompt_tokens?: number | null;
  max_completion_tokens?: number | null;
  truncation_strategy?: unknown;
  tool_choice?: unknown;
  response_format?: unknown;
  parallel_tool_calls?: boolean;
}

export function runConfig(defaults: RunDefaults, params: RunParams, derivedTools: unknown[]): RunConfig {
  return {
    assistantId: params.assistant_id ?? defaults.assistantId,
    model: params.model ?? defaults.model,
    instructions: params.instructions === undefined ? defaults.instructions : params.instructions,
    tools: params.tools ?? derivedTools,
    metadata: params.metadata ?? {},
    temperature: params.temperature ?? 1,
    topP: params.top_p ?? 1,
    maxPromptTokens: params.max_prompt_tokens ?? null,
    maxCompletionTokens: params.max_completion_tokens ?? null,
    truncationStrategy: params.truncation_strategy ?? { type: 'auto', last_messages: null },
    toolChoice: params.tool_choice ?? 'auto',
    responseFormat: params.response_format ?? 'auto',
    parallelToolCalls: params.parallel_tool_calls ?? true,
  };
}

/** A script by template name or as an object, validated; errors carry the field path. */
export function resolveRunScript(script: RunScriptInput | string): RunScript {
  let input: RunScriptInput;
  if (typeof script === 'string') {
    if (!isRunTemplateName(script)) throw new ScriptError('template', `unknown run template "${script}" (known: ${runTemplateNames.join(', ')})`);
    input = runTemplates[script];
  } else input = script;
  const parsed = runScriptSchema.safeParse(input);
  if (!parsed.success) {
    const first = flattenIssues(parsed.error.issues, [])[0] ?? '(root): invalid';
    const split = first.indexOf(': ');
    throw new ScriptError(first.slice(0, split), first.slice(split + 2));
  }
  return parsed.data;
}

// Templates are parsed once: a benchmark scenario instantiates the same few thousands of times.
const parsedTemplates = new Map<string, RunScript>();

function scenarioRunScript(run: ScenarioRun): RunScript {
  const overridden = run.queuedSeconds !== undefined || run.expiresAfterSeconds !== undefined || run.steps !== undefined || run.outcome !== undefined;
  if (run.template !== undefined && !overridden) {
    let parsed = parsedTemplates.get(run.template);
    if (parsed === undefined) parsedTemplates.set(run.template, (parsed = resolveRunScript(resolveTemplate(run.template))));
    return parsed;
  }
  const base: RunScriptInput = run.template === undefined ? {} : resolveTemplate(run.template);
  const merged: RunScriptInput = { ...base };
  if (run.queuedSeconds !== undefined) merged.queuedSeconds = run.queuedSeconds;
  if (run.expiresAfterSeconds !== undefined) merged.expiresAfterSeconds = run.expiresAfterSeconds;
  if (run.steps !== undefined) merged.steps = run.steps;
  if (run.outcome !== undefined) merged.outcome = run.outcome;
  return resolveRunScript(merged);
}

function resolveTemplate(name: string): RunScriptInput {
  if (!isRunTemplateName(name)) throw new ScriptError('template', `unknown run template "${name}" (known: ${runTemplateNames.join(', ')})`);
  return runTemplates[name];
}

export function userMessage(ids: IdFactory, threadId: string, createdAt: number, role: 'user' | 'assistant', text: string): SimMessage {
  return {
    id: ids.next('msg_'),
    threadId,
    createdAt,
    role,
    text,
    assistantId: null,
    runId: null,
    status: 'completed',
    completedAt: createdAt,
    incompleteAt: null,
    incompleteReason: null,
    revealed: true,
  };
}

/** Adds every thread, message and run of the scenario to the state; runs appear at their `startAt`. */
export function populate(state: SimulatorState, scenario: Scenario, ids: IdFactory, defaults: RunDefaults, source: string): void {
  scenario.threads.forEach((thread, ti) => {
    const threadId = thread.id ?? ids.next('thread_');
    const createdAt = thread.createdAt ?? Math.min(0, ...thread.runs.map((r) => r.startAt));
    state.addThread({ id: threadId, createdAt, metadata: thread.metadata });
    for (const m of thread.messages) state.addMessage(userMessage(ids, threadId, createdAt, m.role, m.content));
    thread.runs.forEach((run, ri) => {
      try {
        const runId = run.id ?? ids.next('run_');
        const script = scenarioRunScript(run);
        const compiled = compileRunScript(script, ids);
        const params: RunParams = { metadata: run.metadata ?? {} };
        if (run.assistantId !== undefined) params.assistant_id = run.assistantId;
        if (run.model !== undefined) params.model = run.model;
        if (run.instructions !== undefined) params.instructions = run.instructions;
        if (run.tools !== undefined) params.tools = run.tools;
        if (run.temperature !== undefined) params.temperature = run.temperature;
        if (run.topP !== undefined) params.top_p = run.topP;
        if (run.maxPromptTokens !== undefined) params.max_prompt_tokens = run.maxPromptTokens;
        if (run.maxCompletionTokens !== undefined) params.max_completion_tokens = run.maxCompletionTokens;
        state.addRun({
          id: runId,
          threadId,
          createdAt: run.startAt,
          config: runConfig(defaults, params, compiled.derivedTools),
          compiled,
          expiresAfterSeconds: script.expiresAfterSeconds,
          patch: run.patch,
          stepExpiresAt: run.stepExpiresAt ?? false,
        });
      } catch (error) {
        if (error instanceof ScriptError) throw new ScenarioError(source, [`threads[${ti}].runs[${ri}].${error.path}: ${error.message.slice(error.path.length + 2)}`]);
        throw error;
      }
    });
  });
}
