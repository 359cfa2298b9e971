import type { ScenarioInput } from '../scenario-schema.js';

/**
 * A few threads whose runs, started over the first minute, together use every step and tool call
 * type and end in every way: completed, failed, cancelled, expired, incomplete; one passes through
 * `requires_action` with two parallel function calls.
 */
export const demoScenario: ScenarioInput = {
  name: 'demo',
  description: 'Four assistants at work: trips, data analysis, support, essays.',
  defaults: { model: 'gpt-4o', instructions: 'You are a helpful assistant. Use your tools when they help.' },
  threads: [
    {
      metadata: { app: 'trip-planner', user: 'u-1042' },
      messages: [{ role: 'user', content: 'Plan a weekend in Lisbon for me.' }],
      runs: [
        {
          startAt: 0,
          steps: [
            {
              type: 'tool_calls',
              durationSeconds: 2,
              toolCalls: [
                {
                  type: 'file_search',
                  rankingOptions: { ranker: 'default_2024_08_21', scoreThreshold: 0.4 },
                  results: [
                    { fileName: 'lisbon-guide.pdf', score: 0.88, content: 'Alfama is the oldest district of Lisbon.' },
                    { fileName: 'portugal-trains.md', score: 0.47, content: 'Trains to Sintra leave Rossio every 20 minutes.' },
                  ],
                },
              ],
            },
            {
              type: 'tool_calls',
              durationSeconds: 1,
              submittedBy: 'script',
              submitAfterSeconds: 3,
              toolCalls: [{ type: 'function', name: 'get_weather', arguments: { city: 'Lisbon' }, output: '{"forecast":"sunny","high_c":24}' }],
            },
            { type: 'message_creation', durationSeconds: 3, text: 'Day 1: Alfama and a tram ride. Day 2: Sintra by train. Expect sun, 24 °C.' },
          ],
        },
        { startAt: 40, template: 'incomplete', maxCompletionTokens: 256 },
      ],
    },
    {
      metadata: { app: 'data-analyst' },
      messages: [{ role: 'user', content: 'Chart last quarter revenue.' }],
      runs: [
        {
          startAt: 5,
          steps: [
            {
              type: 'tool_calls',
              durationSeconds: 4,
              toolCalls: [
                {
                  type: 'code_interpreter',
                  input: 'import pandas as pd\ndf = pd.read_csv("/mnt/data/q3.csv")\ndf.plot(x="month", y="revenue")\nprint(df.revenue.sum())',
                  outputs: [{ type: 'logs', logs: '4210000\n' }, { type: 'image' }],
                },
              ],
            },
            { type: 'message_creation', durationSeconds: 2, text: 'Q3 revenue was 4.21M; the chart is attached.' },
          ],
        },
        { startAt: 35, template: 'failed' },
      ],
    },
    {
      metadata: { app: 'support-bot', tier: 'gold' },
      messages: [{ role: 'user', content: 'Where is my order 8812? Please refund it if it is lost.' }],
      runs: [
        {
          startAt: 10,
          steps: [
            {
              type: 'tool_calls',
              durationSeconds: 1,
              submittedBy: 'script',
              submitAfterSeconds: 5,
              toolCalls: [
                { type: 'function', name: 'lookup_order', arguments: { order_id: '8812' }, output: '{"status":"lost"}' },
                { type: 'function', name: 'issue_refund', arguments: { order_id: '8812', reason: 'lost' }, output: '{"refund_id":"rf_1"}' },
              ],
            },
            { type: 'message_creation', durationSeconds: 2, text: 'Your order was lost in transit; I have refunded it.' },
          ],
        },
        { startAt: 50, template: 'expired', expiresAfterSeconds: 45 },
      ],
    },
    {
      metadata: { app: 'essay-writer' },
      messages: [{ role: 'user', content: 'Write 5000 words on the history of tea.' }],
      runs: [{ startAt: 15, template: 'cancelled' }],
    },
  ],
};
