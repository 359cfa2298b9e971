// library: the in-process instrumentation's overhead per instrumented call against the plain SDK
// (issue #11 item 5: added latency and allocations per call).
//
// PLACEHOLDER. The library (`instrumentOpenAI`, src/instrumentation/) was not on main when this
// harness was written. What is measured now is the baseline the overhead will be taken against:
// the plain `openai` SDK (v6) retrieving a run from the simulator, µs per call (and, in the
// details, heap retained per call). `library.overheadMicrosPerCall` stays null until the
// instrumented client is measured the same way, next to it: the lead fills `instrumented` in below
// (and allocations per call, e.g. from a sampling heap profile including collected objects).
import OpenAI from 'openai';
import { createSimulator } from '../../dist/simulator/index.js';
import { figure, median, round } from '../lib/util.mjs';

export const defaults = { calls: 2_000, repeats: 3 };
export const quickDefaults = { calls: 300, repeats: 1 };

async function perCall(calls, one) {
  for (let i = 0; i < 50; i++) await one(); // warm-up
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await one();
  const micros = ((performance.now() - t0) * 1000) / calls;
  const retainedBytes = (process.memoryUsage().heapUsed - heapBefore) / calls;
  return { micros, retainedBytes };
}

export async function run(params = {}) {
  const p = { ...defaults, ...(params.quick ? quickDefaults : {}), ...params };
  const sim = await createSimulator({ scenario: 'every-type' });
  try {
    const [runRecord] = sim.state.runs;
    const client = new OpenAI({ apiKey: 'sk-bench', baseURL: sim.url, maxRetries: 0 });
    const plain = () => client.beta.threads.runs.retrieve(runRecord.id, { thread_id: runRecord.thread_id });
    const rounds = [];
    for (let i = 0; i < p.repeats; i++) rounds.push(await perCall(p.calls, plain));
    const micros = median(rounds.map((r) => r.micros));
    // The instrumented client, measured the same way, goes here once `instrumentOpenAI` is on main.
    const instrumented = null;
    const summary = {
      library: {
        overheadMicrosPerCall: instrumented === null ? null : round(instrumented.micros - micros, 1),
        plainMicrosPerCall: round(micros, 1),
        instrumentedMicrosPerCall: null,
        placeholder: true,
      },
    };
    return {
      params: { sdk: 'openai 6', call: 'beta.threads.runs.retrieve against the simulator', calls: p.calls, repeats: p.repeats },
      figures: [
        figure('plain SDK: µs per call (the baseline)', summary.library.plainMicrosPerCall, 'µs/call'),
        figure('instrumented: added µs per call', null, 'µs/call', { note: 'PLACEHOLDER: instrumentOpenAI was not on main when this was written; to be measured next to the baseline above' }),
      ],
      summary,
      details: { rounds },
    };
  } finally {
    await sim.close();
  }
}
