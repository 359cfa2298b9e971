// instrumentation: what tracing a run in-process costs the application.
// - stream observation: the SDK's own `Stream` of synthetic events, read plain and instrumented
//   (the wrapped iterator, event classification, the run's bookkeeping): extra µs per event;
// - emitting: a finished run's spans mapped, refined and started/ended through an SDK
//   TracerProvider with the deterministic IdGenerator: spans/s;
// - requests: a streamed 50-step run against the simulator, instrumented vs plain (ratio; 1 = none extra).
import { performance } from 'node:perf_hooks';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { BasicTracerProvider, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { Stream } from 'openai/core/streaming';
import { RequestBudget, createDeterministicIdGenerator, instrumentOpenAI } from '../../dist/index.js';
import { Guard } from '../../dist/instrumentation/guard.js';
import { observeStream } from '../../dist/instrumentation/sdk-objects.js';
import { TracerSink } from '../../dist/instrumentation/sink.js';
import { RunTracker } from '../../dist/instrumentation/tracker.js';
import { createSimulator } from '../../dist/simulator/index.js';
import { silentLogger } from '../../dist/util/log.js';
import { figure, median, round } from '../lib/util.mjs';

export const defaults = { steps: 2000, repeats: 5, simulatedSteps: 50 };

const T0 = 1_767_225_600;
const runRecord = (status, extra = {}) => ({ id: 'run_bench', object: 'thread.run', thread_id: 'thread_bench', assistant_id: 'asst_bench', created_at: T0, status, metadata: {}, ...extra });
const step = (i, status) => ({
  id: `step_${i}`,
  object: 'thread.run.step',
  run_id: 'run_bench',
  thread_id: 'thread_bench',
  assistant_id: 'asst_bench',
  type: 'tool_calls',
  status,
  created_at: T0 + i,
  completed_at: status === 'completed' ? T0 + i + 1 : null,
  step_details: { type: 'tool_calls', tool_calls: [{ id: `call_${i}`, type: 'code_interpreter', code_interpreter: { input: 'print(1)', outputs: [] } }] },
  usage: status === 'completed' ? { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } : null,
});

function events(steps) {
  const list = [{ event: 'thread.run.created', data: runRecord('queued') }, { event: 'thread.run.in_progress', data: runRecord('in_progress', { started_at: T0 }) }];
  for (let i = 0; i < steps; i++) {
    list.push({ event: 'thread.run.step.created', data: step(i, 'in_progress') });
    list.push({ event: 'thread.run.step.delta', data: { id: `step_${i}`, delta: { step_details: { type: 'tool_calls', tool_calls: [{ index: 0, id: `call_${i}` }] } } } });
    list.push({ event: 'thread.run.step.completed', data: step(i, 'completed') });
  }
  list.push({ event: 'thread.run.completed', data: runRecord('completed', { started_at: T0, completed_at: T0 + steps + 1 }) });
  return list;
}

function stream(list) {
  return new Stream(async function* () {
    for (const e of list) yield e;
  }, new AbortController());
}

async function readAll(s) {
  let n = 0;
  for await (const event of s) if (event) n++;
  return n;
}

function tracker(sink) {
  return new RunTracker({ sink, guard: new Guard(silentLogger), budget: new RequestBudget(), mapping: {}, pollIntervalMillis: 2000, now: Date.now });
}

const nullSink = { deterministic: true, emit() {}, flush: async () => {}, shutdown: async () => {} };
const reader = { getRun: async () => ({}), listSteps: async () => ({ data: [], hasMore: false }) };
const creation = () => ({ context: ROOT_CONTEXT, source: { reader, mapping: {} }, calledAt: Date.now() });

async function timed(repeats, fn) {
  const times = [];
  for (let i = 0; i < repeats; i++) {
    globalThis.gc?.();
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export async function run(params = {}) {
  const { steps, repeats, simulatedSteps } = { ...defaults, ...params };
  const list = events(steps);

  const plainMs = await timed(repeats, () => readAll(stream(list)));
  // What the application's reading costs more (the run's end is handled after its last event).
  const observedMs = await timed(repeats, () => {
    const s = stream(list);
    const t = tracker(nullSink);
    observeStream(s, t.creationStream(creation()), new Guard(silentLogger), Date.now);
    return readAll(s);
  });

  // Finishing: the records validated, mapped, refined and started/ended through an SDK provider.
  const provider = new BasicTracerProvider({ idGenerator: createDeterministicIdGenerator(), spanProcessors: [new NoopSpanProcessor()] });
  const tracerSink = new TracerSink(() => provider.getTracer('bench'), new Guard(silentLogger));
  const emitMs = await timed(repeats, async () => {
    const t = tracker(tracerSink);
    const follower = t.creationStream(creation());
    for (const e of list) follower.event(e.event, e.data, Date.now());
    follower.end('done');
    await t.flush();
  });

  // Requests: the same streamed run through the real SDK and the simulator, plain and instrumented.
  const script = { queuedSeconds: 0, steps: Array.from({ length: simulatedSteps }, (_, i) => ({ type: 'message_creation', durationSeconds: 0, text: `part ${i}` })) };
  const requests = {};
  for (const mode of ['plain', 'instrumented']) {
    const sim = await createSimulator({ runScript: script, prefix: '/v1' });
    const client = new OpenAI({ baseURL: sim.url, apiKey: 'sk-bench', maxRetries: 0 });
    const handle = mode === 'instrumented' ? instrumentOpenAI(client, { tracerProvider: provider }) : undefined;
    const thread = sim.createThread();
    const s = await client.beta.threads.runs.create(thread.id, { assistant_id: 'asst_bench', stream: true });
    const reading = readAll(s);
    await sim.runUntilIdle();
    await reading;
    await handle?.shutdown();
    requests[mode] = sim.requests.length;
    await sim.close();
  }

  const spans = 1 + steps * 2;
  return {
    params: { steps, repeats, simulatedSteps },
    figures: [
      figure('stream events read, plain', round((plainMs * 1000) / list.length, 2), 'µs/event'),
      figure('stream events read, instrumented', round((observedMs * 1000) / list.length, 2), 'µs/event'),
      figure('observation overhead', round(((observedMs - plainMs) * 1000) / list.length, 2), 'µs/event'),
      figure('a finished run → its spans through the TracerProvider', Math.round(spans / (emitMs / 1000)), 'spans/s', { note: `${spans} spans per run, observation included; after the application's last event` }),
      figure('API requests of a streamed run, instrumented / plain', round(requests.instrumented / requests.plain, 2), '×', { target: '1.00', met: requests.instrumented === requests.plain, note: `${requests.instrumented} vs ${requests.plain}` }),
    ],
  };
}
