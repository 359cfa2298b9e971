// What the HTTP routes and the programmatic API share: the state, the clock, IDs and the ways to add work.
import type { ScenarioClock } from './clock.js';
import type { IdFactory } from './ids.js';
import type { SimRun, SimThread } from './model.js';
import type { EpochOf } from './records.js';
import type { RunScriptInput } from './scenario-schema.js';
import { compileRunScript } from './script.js';
import type { RunListener, SimulatorState } from './state.js';
import { resolveRunScript, runConfig, userMessage, type RunDefaults, type RunParams } from './world.js';

/** Chooses the script of a run created over HTTP, from its request body. */
export type RunScriptChooser = (request: RunParams) => RunScriptInput | string;

export interface Core {
  readonly state: SimulatorState;
  readonly clock: ScenarioClock;
  readonly ids: IdFactory;
  readonly epoch: EpochOf;
  readonly defaults: RunDefaults;
  readonly scriptFor: RunScriptChooser;
}

/** Current scenario time, with everything due by then applied. */
export function settledNow(core: Core): number {
  const now = core.clock.now();
  core.state.settle(now);
  return now;
}

export function addThread(core: Core, metadata: Record<string, string>, messages: readonly { role: 'user' | 'assistant'; text: string }[], t: number): SimThread {
  const thread: SimThread = { id: core.ids.next('thread_'), createdAt: t, metadata };
  core.state.addThread(thread);
  for (const m of messages) core.state.addMessage(userMessage(core.ids, thread.id, t, m.role, m.text));
  return thread;
}

/**
 * Creates a run now and plays its script from here. `listener` (an SSE stream) is registered
 * before the run exists, so it sees `thread.run.created` too.
 */
export function startRunNow(
  core: Core,
  threadId: string,
  params: RunParams,
  script: RunScriptInput | string,
  listener?: RunListener,
  runId?: string,
): { run: SimRun; unsubscribe: () => void } {
  const t = settledNow(core);
  const resolved = resolveRunScript(script);
  const id = runId ?? core.ids.next('run_');
  const compiled = compileRunScript(resolved, core.ids);
  const unsubscribe = listener === undefined ? () => {} : core.state.subscribe(id, listener);
  const run = core.state.addRun({
    id,
    threadId,
    createdAt: t,
    config: runConfig(core.defaults, params, compiled.derivedTools),
    compiled,
    expiresAfterSeconds: resolved.expiresAfterSeconds,
    patch: undefined,
  });
  core.state.settle(t);
  return { run, unsubscribe };
}

/**
 * The default for runs created over HTTP: when the request offers a function tool, the run calls
 * it and waits for the client's outputs (so an agent's tool loop is exercised); otherwise it
 * writes one message.
 */
export const defaultScriptFor: RunScriptChooser = (request) => {
  const fn = (request.tools ?? []).find(
    (tool): tool is { type: 'function'; function: { name: string } } =>
      typeof tool === 'object' && tool !== null && (tool as { type?: unknown }).type === 'function' && typeof (tool as { function?: { name?: unknown } }).function?.name === 'string',
  );
  if (fn === undefined) return 'message';
  return {
    steps: [
      { type: 'tool_calls', durationSeconds: 1, submittedBy: 'client', toolCalls: [{ type: 'function', name: fn.function.name, arguments: '{}' }] },
      { type: 'message_creation', durationSeconds: 1, text: `Here is what ${fn.function.name} returned.` },
    ],
  };
};
