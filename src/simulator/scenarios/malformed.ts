import type { ScenarioInput } from '../scenario-schema.js';

/**
 * One run whose step list contains three broken records among well-formed ones: a step without
 * `created_at` (and no end timestamp either, so nothing can place it in time), a step that is not an
 * object, and a function call whose `function.name` is a number.
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
            { type: 'message_creation', text: 'No created_at here.', patch: { omit: ['created_at'], set: { completed_at: null } } },
            { type: 'message_creation', text: 'Replaced by a string.', patch: { replaceWith: 'this step is not an object' } },
            {
              type: 'tool_calls',
              toolCalls: [{ type: 'function', name: 'get_weather', arguments: { city: 'Lisbon' } }],
              patch: { set: { 'step_details.tool_calls.0.function.name': 42 } },
            },
            { type: 'tool_calls', toolCalls: [{ type: 'code_interpreter', input: 'print(1)', outputs: [{ type: 'logs', logs: '1\n' }] }] },
            { type: 'message_creation', text: 'Another good step.' },
          ],
        },
      ],
    },
  ],
};
