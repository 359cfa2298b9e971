/**
 * Exporting saved records from code: the same validation, mapping and delivery as `import`.
 * Run: node --experimental-strip-types examples/library-export.ts (Node 22+), or compile it.
 */
import { exportRecords } from '../src/index.js';

const records = [
  {
    id: 'run_1', object: 'thread.run', created_at: 1_714_560_000, thread_id: 'thread_1', assistant_id: 'asst_1',
    status: 'completed', completed_at: 1_714_560_012, model: 'gpt-4o',
    usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
  },
  {
    id: 'step_1', object: 'thread.run.step', created_at: 1_714_560_001, run_id: 'run_1', thread_id: 'thread_1',
    assistant_id: 'asst_1', type: 'message_creation', status: 'completed', completed_at: 1_714_560_011,
    step_details: { type: 'message_creation', message_creation: { message_id: 'msg_1' } },
  },
];

const result = await exportRecords(records, {
  otlp: { url: process.env['OTLP_TRACES_URL'] ?? 'http://localhost:4318/v1/traces' },
  resource: { serviceName: 'my-agent-backfill' },
});
console.log(`${result.delivered} spans delivered; ${result.rejected.length} records rejected`);
