// Synthetic, spec-shaped Assistants v2 records (runs and run steps as the API returns them), with a
// realistic mix of step types, tool call types and terminal statuses. Deterministic (seeded).

/** mulberry32: a small seeded PRNG, so every benchmark run sees the same records. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (random, weighted) => {
  let r = random() * weighted.reduce((sum, [, w]) => sum + w, 0);
  for (const [value, w] of weighted) {
    r -= w;
    if (r < 0) return value;
  }
  return weighted[weighted.length - 1][0];
};

const BASE_EPOCH = 1_767_225_600; // 2026-01-01T00:00:00Z
const FUNCTIONS = ['get_weather', 'lookup_order', 'issue_refund', 'search_catalog', 'send_email'];

function toolCall(random, runIndex, stepIndex, callIndex) {
  const id = `call_${runIndex}_${stepIndex}_${callIndex}`;
  const kind = pick(random, [['function', 50], ['code_interpreter', 20], ['file_search', 20], ['bing_grounding', 10]]);
  switch (kind) {
    case 'function': {
      const name = FUNCTIONS[Math.floor(random() * FUNCTIONS.length)];
      return {
        id,
        type: 'function',
        function: {
          name,
          arguments: JSON.stringify({ order_id: `ord_${runIndex}_${stepIndex}`, city: 'Lisbon', unit: 'celsius', note: 'x'.repeat(40 + Math.floor(random() * 80)) }),
          output: JSON.stringify({ ok: true, temperature_c: 21, sky: 'clear', detail: 'y'.repeat(60 + Math.floor(random() * 120)) }),
        },
      };
    }
    case 'code_interpreter':
      return {
        id,
        type: 'code_interpreter',
        code_interpreter: {
          input: 'import pandas as pd\ndf = pd.read_csv("sales.csv")\nprint(df.describe())',
          outputs: [
            { type: 'logs', logs: 'count    120.0\nmean      42.1\nstd        3.3\n' },
            ...(random() < 0.3 ? [{ type: 'image', image: { file_id: `file_img_${runIndex}_${stepIndex}` } }] : []),
          ],
        },
      };
    case 'file_search':
      return {
        id,
        type: 'file_search',
        file_search: {
          ranking_options: { ranker: 'default_2024_08_21', score_threshold: 0.5 },
          results: [
            { file_id: 'file_handbook', file_name: 'handbook.pdf', score: 0.91 },
            { file_id: 'file_faq', file_name: 'faq.md', score: 0.62 },
          ],
        },
      };
    default:
      // An Azure tool call type the spec does not know: carried through as a generic call.
      return { id, type: 'bing_grounding', bing_grounding: { requesturl: `https://example.invalid/search?q=${runIndex}` } };
  }
}

/**
 * One run and its `stepsPerRun` steps as raw API JSON: `{ run, steps }`. Statuses: mostly
 * completed, with failed, cancelled, incomplete and expired in realistic proportions.
 */
export function syntheticRun(runIndex, stepsPerRun, random) {
  const runId = `run_bench_${runIndex}`;
  const threadId = `thread_bench_${runIndex % 500}`;
  const assistantId = `asst_bench_${runIndex % 7}`;
  const createdAt = BASE_EPOCH + runIndex * 90;
  const status = pick(random, [['completed', 85], ['failed', 5], ['cancelled', 4], ['incomplete', 3], ['expired', 3]]);
  const steps = [];
  let t = createdAt + 1;
  for (let s = 0; s < stepsPerRun; s++) {
    const isTools = random() < 0.6;
    const duration = 1 + Math.floor(random() * 3);
    const last = s === stepsPerRun - 1;
    const stepStatus = last && status === 'failed' ? 'failed' : last && status === 'cancelled' ? 'cancelled' : last && status === 'expired' ? 'expired' : 'completed';
    const end = t + duration;
    const calls = isTools ? Array.from({ length: 1 + Math.floor(random() * 3) }, (_, c) => toolCall(random, runIndex, s, c)) : [];
    steps.push({
      id: `step_${runIndex}_${s}`,
      object: 'thread.run.step',
      created_at: t,
      assistant_id: assistantId,
      thread_id: threadId,
      run_id: runId,
      type: isTools ? 'tool_calls' : 'message_creation',
      status: stepStatus,
      step_details: isTools ? { type: 'tool_calls', tool_calls: calls } : { type: 'message_creation', message_creation: { message_id: `msg_${runIndex}_${s}` } },
      last_error: stepStatus === 'failed' ? { code: 'server_error', message: 'Sorry, something went wrong.' } : null,
      expired_at: stepStatus === 'expired' ? end : null,
      cancelled_at: stepStatus === 'cancelled' ? end : null,
      failed_at: stepStatus === 'failed' ? end : null,
      completed_at: stepStatus === 'completed' ? end : null,
      metadata: {},
      usage: { prompt_tokens: 100 + s, completion_tokens: 20, total_tokens: 120 + s },
    });
    t = end + 1;
  }
  const end = t;
  const run = {
    id: runId,
    object: 'thread.run',
    created_at: createdAt,
    thread_id: threadId,
    assistant_id: assistantId,
    status,
    required_action: null,
    last_error: status === 'failed' ? { code: 'server_error', message: 'Sorry, something went wrong.' } : status === 'expired' ? { code: 'expired', message: 'The run expired.' } : null,
    expires_at: status === 'expired' ? end : null,
    started_at: createdAt + 1,
    cancelled_at: status === 'cancelled' ? end : null,
    failed_at: status === 'failed' ? end : null,
    completed_at: status === 'completed' || status === 'incomplete' ? end : null,
    expired_at: status === 'expired' ? end : undefined,
    incomplete_details: status === 'incomplete' ? { reason: 'max_completion_tokens' } : null,
    model: 'gpt-4o',
    instructions: 'You are a helpful support assistant. Answer briefly and cite the handbook.',
    tools: [{ type: 'function', function: { name: 'get_weather' } }, { type: 'code_interpreter' }, { type: 'file_search' }],
    metadata: { user: `u-${runIndex % 1000}`, app: 'support' },
    usage: { prompt_tokens: 100 * stepsPerRun, completion_tokens: 20 * stepsPerRun, total_tokens: 120 * stepsPerRun },
    temperature: 0.7,
    top_p: 1,
    max_prompt_tokens: null,
    max_completion_tokens: 800,
    truncation_strategy: { type: 'auto', last_messages: null },
    tool_choice: 'auto',
    parallel_tool_calls: true,
    response_format: 'auto',
  };
  if (run.expired_at === undefined) delete run.expired_at;
  return { run, steps };
}

/** `count` runs of `stepsPerRun` steps each. */
export function syntheticRuns(count, stepsPerRun, seed = 42) {
  const random = prng(seed);
  return Array.from({ length: count }, (_, i) => syntheticRun(i, stepsPerRun, random));
}
