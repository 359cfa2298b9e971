// Reusable run scripts: `template` in a scenario run, `sim.startRun(threadId, name)`, and the
// default for runs created over HTTP.
import type { RunScriptInput } from '../scenario-schema.js';

const weatherCall = { type: 'function', name: 'get_weather', arguments: { city: 'Lisbon', unit: 'celsius' }, output: '{"temperature_c":21,"sky":"clear"}' } as const;

export const runTemplates = {
  /** One assistant message. */
  message: { steps: [{ type: 'message_creation', text: 'Hello! How can I help you today?', durationSeconds: 2 }] },
  /** Every step and tool call type the spec knows, all completed; function outputs submitted by the script. */
  'every-tool': {
    steps: [
      {
        type: 'tool_calls',
        durationSeconds: 3,
        toolCalls: [
          {
            type: 'code_interpreter',
            input: 'import pandas as pd\ndf = pd.read_csv("sales.csv")\ndf.plot()\nprint(df.sum())',
            outputs: [{ type: 'logs', logs: 'revenue    1234567\ndtype: int64\n' }, { type: 'image' }],
          },
        ],
      },
      {
        type: 'tool_calls',
        durationSeconds: 2,
        toolCalls: [
          {
            type: 'file_search',
            rankingOptions: { ranker: 'default_2024_08_21', scoreThreshold: 0.5 },
            results: [
              { fileName: 'handbook.pdf', score: 0.91, content: 'Refunds are accepted within 30 days of purchase.' },
              { fileName: 'faq.md', score: 0.62, content: 'Shipping takes 3-5 business days.' },
            ],
          },
        ],
      },
      { type: 'tool_calls', durationSeconds: 1, toolCalls: [weatherCall], submittedBy: 'script', submitAfterSeconds: 2 },
      { type: 'message_creation', text: 'Revenue was 1,234,567; refunds are accepted for 30 days; Lisbon is 21 °C and clear.', durationSeconds: 2 },
    ],
  },
  /** A function call that waits for a client's `submit_tool_outputs`, then a message. */
  'function-client': {
    steps: [
      { type: 'tool_calls', durationSeconds: 1, toolCalls: [weatherCall], submittedBy: 'client' },
      { type: 'message_creation', text: 'It is sunny in Lisbon.', durationSeconds: 1 },
    ],
  },
  /** The same, with the outputs submitted by the script two seconds after `requires_action`. */
  'function-script': {
    steps: [
      { type: 'tool_calls', durationSeconds: 1, toolCalls: [weatherCall], submittedBy: 'script', submitAfterSeconds: 2 },
      { type: 'message_creation', text: 'It is sunny in Lisbon.', durationSeconds: 1 },
    ],
  },
  /** A code interpreter step fails and the run fails with it. */
  failed: {
    steps: [{ type: 'tool_calls', durationSeconds: 2, status: 'failed', toolCalls: [{ type: 'code_interpreter', input: '1/0', outputs: [] }] }],
    outcome: { status: 'failed', lastError: { code: 'server_error', message: 'Sorry, something went wrong.' } },
  },
  /** Cancelled while a long message is being written. */
  cancelled: {
    steps: [{ type: 'message_creation', text: 'A very long essay…', durationSeconds: 30 }],
    outcome: { status: 'cancelled', at: 4 },
  },
  /** Function outputs never arrive; the run expires 30 s after creation. */
  expired: {
    expiresAfterSeconds: 30,
    steps: [{ type: 'tool_calls', durationSeconds: 1, toolCalls: [weatherCall], submittedBy: 'never' }],
    outcome: { status: 'expired' },
  },
  /** The answer hits max_completion_tokens. */
  incomplete: {
    steps: [{ type: 'message_creation', text: 'The answer is cut short because', durationSeconds: 3 }],
    outcome: { status: 'incomplete', reason: 'max_completion_tokens' },
  },
} satisfies Record<string, RunScriptInput>;

export type RunTemplateName = keyof typeof runTemplates;
export const runTemplateNames = Object.keys(runTemplates) as RunTemplateName[];

export function isRunTemplateName(name: string): name is RunTemplateName {
  return Object.hasOwn(runTemplates, name);
}
