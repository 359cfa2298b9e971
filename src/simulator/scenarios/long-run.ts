import type { ScenarioInput, StepScriptInput } from '../scenario-schema.js';

export const LONG_RUN_STEPS = 250;

function step(i: number): StepScriptInput {
  if (i % 5 === 4) return { type: 'message_creation', text: `Progress report ${i + 1}.`, durationSeconds: 1 };
  if (i % 7 === 3) {
    return { type: 'tool_calls', durationSeconds: 1, toolCalls: [{ type: 'file_search', results: [{ fileName: `part-${i}.txt`, score: 0.7, content: `Chunk ${i}.` }] }] };
  }
  return { type: 'tool_calls', durationSeconds: 1, toolCalls: [{ type: 'code_interpreter', input: `print(${i} * ${i})`, outputs: [{ type: 'logs', logs: `${i * i}\n` }] }] };
}

/** One run with 250 steps, one per scenario second: several pages of steps at `limit=100`. Completed at second 252. */
export const longRunScenario: ScenarioInput = {
  name: 'long-run',
  threads: [{ id: 'thread_longrun', runs: [{ id: 'run_longrun', steps: Array.from({ length: LONG_RUN_STEPS }, (_, i) => step(i)) }] }],
};
