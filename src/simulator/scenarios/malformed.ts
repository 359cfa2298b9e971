import type { ScenarioInput } from '../scenario-schema.js';

/**
 * One run whose step list contains broken records among well-formed ones: a step without `run_id`
 * (nothing says which trace it belongs to, so it cannot be placed), a step that is not an object, a
 * function call whose `function.name` is a number, and, last, a step with no timestamp at all (a
 * client keeps it and places it at its run's start).
 */
export const malformedScenario: ScenarioInput = {
  name: 'malformed',
  threads: [
    {
      id: 'thread_malformed',
      runs: [
        {
          id: 'run_malformed',
          steps: [
            { type: 'message_creation', text: 'A good step.' },
            { type: 'message_creation', text: 'No run_id here.', patch: { omit: ['run_id'] } },
            { type: 'message_creation', text: 'Replaced by a string.', patch: { replaceWith: 'this step is not an object' } },
            {
              type: 'tool_calls',
              toolCalls: [{ type: 'function', name: 'get_weather', arguments: { city: 'Lisbon' } }],
              patch: { set: { 'step_details.tool_calls.0.function.name': 42 } },
            },
            { type: 'tool_calls', toolCalls: [{ type: 'code_interpreter', input: 'print(1)', outputs: [{ type: 'logs', logs: '1\n' }] }] },
            { type: 'message_creation', text: 'Another good step.' },
            { type: 'message_creation', text: 'No time at all.', patch: { omit: ['created_at'], set: { completed_at: null } } },
          ],
        },
      ],
    },
  ],
};
