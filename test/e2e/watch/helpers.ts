/**
 * Shared machinery for the `assistants-otel watch` end-to-end suite: a "world" (the protocol
 * simulator on the real clock, a loopback OTLP receiver, a temp directory), the real CLI process
 * pointed at both, and the oracles the tests judge it by:
 *
 * - `expectedSpans(world)`: what `mapRunToSpans` makes of the simulator's final records (the
 *   library's pure mapping; the sidecar must send exactly these spans);
 * - a terminality monitor: every export request is checked, the moment it arrives, against the
 *   simulator's state at that moment (a step or run span for a record not yet terminal is a
 *   violation);
 * - span bookkeeping: counts per span ID, and a canonical form of a decoded span (every field) to
 *   compare duplicates.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunTerminal, isStepTerminal, mapRunToSpans, validateRun, validateRunStep, type RunStep, type SpanData } from '../../../src/index.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../../src/simulator/index.js';
import { builtInScenario } from '../../../src/simulator/scenarios/index.js';
import type { ScenarioInput, ScenarioRunInput } from '../../../src/simulator/scenario-schema.js';
import { killAllStartedClis, startCli, type RunningCli, type StartCliOptions } from '../../support/cli.js';
import {
  formatTree,
  startOtlpReceiver,
  type OtlpReceiver,
  type OtlpReceiverOptions,
  type ReceivedRequest,
  type ReceivedSpan,
  type ReplyScript,
} from '../../support/otlp-receiver.js';

export { formatTree };
export type { ReceivedRequest, ReceivedSpan };

// ---- cleanup ------------------------------------------------------------------------------------

const cleanups: Array<() => Promise<void>> = [];

/** Call in `afterEach`: kills every CLI started, closes simulators and receivers, removes temp dirs. */
export async function cleanupAll(): Promise<void> {
  await killAllStartedClis();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-watch-e2e-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

// ---- waiting ------------------------------------------------------------------------------------

/**
 * Polls `probe` every 25 ms until it returns something other than undefined/false (or stops throwing),
 * and returns that. On timeout the error says what was awaited, the last error, and `details()`.
 */
export async function waitUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; what: string; details?: () => string },
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      const last = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}${last}${options.details ? `\n${options.details()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// ---- scenarios ----------------------------------------------------------------------------------

/** A built-in scenario as an object (so several can be merged into one simulator). */
export function scenario(name: string): ScenarioInput {
  const found = builtInScenario(name);
  if (!found) throw new Error(`no built-in scenario ${name}`);
  return found;
}

/** One scenario holding the threads of several (the first one's defaults). */
export function mergeScenarios(name: string, parts: ScenarioInput[]): ScenarioInput {
  const [first] = parts;
  return {
    name,
    ...(first?.defaults ? { defaults: first.defaults } : {}),
    threads: parts.flatMap((p) => p.threads ?? []),
    faults: parts.flatMap((p) => p.faults ?? []),
  };
}

/** A run of `count` one-second message steps: more than one page of steps (limit 100), long enough to watch live. */
export function longRun(id: string, count: number, startAt = 0): ScenarioRunInput {
  return {
    id,
    startAt,
    steps: Array.from({ length: count }, (_, i) => ({ type: 'message_creation' as const, text: `part ${i + 1}`, durationSeconds: 1 })),
  };
}

// ---- the world ----------------------------------------------------------------------------------

export interface SpanCheck {
  /** Every span that arrived, with whether its record was terminal in the simulator at arrival. */
  arrivals: Array<{ spanId: string; kind: 'run' | 'step' | 'tool_call'; runId: string; stepId?: string; terminalAtArrival: boolean; runTerminalAtArrival: boolean }>;
  /** Spans that arrived for a run or step the simulator did not show as terminal at that moment. */
  violations: string[];
}

export interface World {
  sim: Simulator;
  receiver: OtlpReceiver;
  dir: string;
  /** What the receiver answers (after the terminality monitor looked at the request); undefined: 200. */
  script: ReplyScript | undefined;
  check: SpanCheck;
  /** The thread ids the sidecar is told to watch, by default every thread of the scenario. */
  threads: string[];
  /**
   * `performance.now()` just before the simulator started: `simStartedAt + request.receivedAtMs` is a
   * request's arrival on this process's clock (a few ms early at most).
   */
  simStartedAt: number;
}

export interface WorldOptions extends Omit<SimulatorOptions, 'clock'> {
  receiver?: OtlpReceiverOptions;
}

/** The simulator (real clock, 25 ms per scenario second unless told), a receiver, a temp dir. */
export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const { receiver: receiverOptions, ...simOptions } = options;
  const simStartedAt = performance.now();
  const sim = await createSimulator({ timeScaleMillisPerSecond: 25, ...simOptions, clock: 'real' });
  cleanups.push(() => sim.close());
  const receiver = await startOtlpReceiver(receiverOptions ?? {});
  cleanups.push(() => receiver.close());
  const dir = await tempDir();
  const world: World = { sim, receiver, dir, script: undefined, check: { arrivals: [], violations: [] }, threads: sim.state.threads.map((t) => t.id), simStartedAt };
  receiver.respondWith((request, index) => {
    monitor(world, request);
    return world.script?.(request, index);
  });
  return world;
}

/** What kind of record a received span stands for, from its attributes. */
export function subjectOf(span: ReceivedSpan): { kind: 'run' | 'step' | 'tool_call'; runId: string; stepId?: string } {
  const runId = String(span.attributes['assistants.run.id']);
  if (span.attributes['gen_ai.operation.name'] === 'invoke_agent') return { kind: 'run', runId };
  const stepId = String(span.attributes['assistants.step.id']);
  if (span.attributes['gen_ai.operation.name'] === 'execute_tool') return { kind: 'tool_call', runId, stepId };
  return { kind: 'step', runId, stepId };
}

function monitor(world: World, request: ReceivedRequest): void {
  if (request.spans.length === 0) return;
  const state = world.sim.state;
  const runTerminal = new Map<string, boolean>();
  for (const raw of state.runs) {
    const v = validateRun(raw);
    if (v.ok) runTerminal.set(v.value.id, isRunTerminal(v.value));
  }
  const stepTerminal = new Map<string, boolean>();
  for (const raw of state.steps) {
    const v = validateRunStep(raw);
    if (v.ok) stepTerminal.set(v.value.id, isStepTerminal(v.value));
  }
  for (const span of request.spans) {
    const subject = subjectOf(span);
    const runDone = runTerminal.get(subject.runId) === true;
    const terminal = subject.kind === 'run' ? runDone : stepTerminal.get(subject.stepId ?? '') === true;
    world.check.arrivals.push({ spanId: span.spanId, ...subject, terminalAtArrival: terminal, runTerminalAtArrival: runDone });
    if (!terminal) {
      world.check.violations.push(
        `request #${request.index}: ${subject.kind} span ${span.spanId} "${span.name}" (run ${subject.runId}${subject.stepId ? `, step ${subject.stepId}` : ''}) arrived while the simulator showed it ${
          subject.kind === 'run' ? 'run' : 'step'
        } as not terminal`,
      );
    }
  }
}

// ---- the CLI ------------------------------------------------------------------------------------

/** Flags that make the sidecar quick on loopback: 100 ms polls, a short idle back-off, a generous request budget. */
export const FAST = ['--poll-interval', '100ms', '--max-idle-interval', '400ms', '--max-rps', '200', '--max-concurrency', '16'];

export function baseEnv(world: World, extra: Record<string, string> = {}): Record<string, string> {
  return { OPENAI_BASE_URL: world.sim.url, OTEL_EXPORTER_OTLP_ENDPOINT: world.receiver.url, ...extra };
}

/**
 * `assistants-otel watch` with FAST, every world thread, `--listen 127.0.0.1:0` (unless `listen:
 * false`), and `args`.
 *
 * Why `--listen` by default: the endpoint serves `/metrics`, which several tests read; and without
 * it the sidecar currently exits by itself between two polls (see lifecycle.test.ts, "keeps running
 * without --listen"), which would hide every other property behind that one bug.
 */
export function startWatch(world: World, args: string[], options: StartCliOptions & { threads?: string[]; listen?: boolean } = {}): RunningCli {
  const { threads = world.threads, env, listen = true, ...rest } = options;
  return startCli(['watch', ...FAST, ...(listen ? ['--listen', '127.0.0.1:0'] : []), ...threads.flatMap((t) => ['--thread', t]), ...args], {
    ...rest,
    env: { ...baseEnv(world), ...env },
  });
}

/** The registration endpoint's URL, from the `registration endpoint listening url=...` log line (text or JSON). */
export async function registrationUrl(cli: RunningCli): Promise<string> {
  const found = await cli.waitForOutput(/registration endpoint listening.*?url"?[=:]"?(http:\/\/[^\s"]+)/, { stream: 'stderr', timeoutMs: 15_000 });
  const url = found.match?.[1];
  if (!url) throw new Error(`no url in ${found.text}`);
  return url;
}

/** Reads one sample of a Prometheus text exposition (labels as `{a="b"}` exactly, or none). */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [key, value] = line.split(' ');
    if (key === `${name}${labels}`) return Number(value);
  }
  return undefined;
}

// ---- oracles ------------------------------------------------------------------------------------

export interface ExpectedOptions {
  /** Only runs of these threads (default: every thread). */
  threads?: readonly string[];
  /** Only these runs (default: every run of the threads). */
  runIds?: readonly string[];
  /** Registered traceparents by run id. */
  traceparents?: ReadonlyMap<string, string>;
}

/** Run ids not terminal in the simulator now (in the given threads). */
export function activeRunIds(sim: Simulator, threads?: readonly string[]): string[] {
  return sim.state.runs
    .map((raw) => validateRun(raw))
    .filter((v) => v.ok)
    .map((v) => v.value)
    .filter((run) => !isRunTerminal(run) && (!threads || threads.includes(run.thread_id ?? '')))
    .map((run) => run.id);
}

/** The spans `mapRunToSpans` makes of the simulator's current records, for its terminal runs. */
export function expectedSpans(world: World, options: ExpectedOptions = {}): SpanData[] {
  const state = world.sim.state;
  const threads = options.threads ?? world.threads;
  const steps = new Map<string, RunStep[]>();
  for (const raw of state.steps) {
    const v = validateRunStep(raw);
    if (!v.ok) continue;
    const list = steps.get(v.value.run_id) ?? [];
    list.push(v.value);
    steps.set(v.value.run_id, list);
  }
  const spans: SpanData[] = [];
  for (const raw of state.runs) {
    const v = validateRun(raw);
    if (!v.ok || !isRunTerminal(v.value) || !threads.includes(v.value.thread_id ?? '')) continue;
    if (options.runIds && !options.runIds.includes(v.value.id)) continue;
    const traceparent = options.traceparents?.get(v.value.id);
    const run = traceparent ? { ...v.value, metadata: { ...(v.value.metadata ?? {}), traceparent } } : v.value;
    spans.push(
      ...mapRunToSpans(
        { runId: run.id, run, steps: steps.get(run.id) ?? [] },
        { providerName: 'openai', serverAddress: '127.0.0.1', serverPort: world.sim.port },
      ),
    );
  }
  return spans;
}

const nanos = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** The fields of a received span that the mapping decides, as the mapping's `SpanData` gives them. */
export function comparable(span: SpanData): Partial<ReceivedSpan> {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId ?? '',
    name: span.name,
    kind: span.kind + 1, // @opentelemetry/api's SpanKind starts at INTERNAL = 0; OTLP's at UNSPECIFIED = 0
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: span.attributes as ReceivedSpan['attributes'],
    status: { code: span.status.code, message: span.status.message ?? '' },
    events: span.events.map((e) => ({ name: e.name, timeUnixNano: nanos(e.time), attributes: e.attributes as ReceivedSpan['attributes'], droppedAttributesCount: 0 })),
  };
}

export function pickComparable(span: ReceivedSpan): Partial<ReceivedSpan> {
  const { traceId, spanId, parentSpanId, name, kind, startTimeUnixNano, endTimeUnixNano, attributes, status, events } = span;
  return { traceId, spanId, parentSpanId, name, kind, startTimeUnixNano, endTimeUnixNano, attributes, status, events };
}

/** How many times each span id arrived. */
export function countById(spans: readonly ReceivedSpan[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const span of spans) counts.set(span.spanId, (counts.get(span.spanId) ?? 0) + 1);
  return counts;
}

/** True once every expected span id was accepted at least once. */
export function allArrived(world: World, expected: readonly SpanData[]): boolean {
  const got = new Set(world.receiver.spans().map((s) => s.spanId));
  return expected.every((s) => got.has(s.spanId));
}

/** What is still missing, for timeout messages. */
export function missingReport(world: World, options: ExpectedOptions = {}): string {
  const expected = expectedSpans(world, options);
  const got = new Set(world.receiver.spans().map((s) => s.spanId));
  const missing = expected.filter((s) => !got.has(s.spanId));
  const runs = [...new Set(missing.map((s) => s.subject.runId))];
  return `idle=${String(world.sim.idle)} expected=${expected.length} received=${world.receiver.spans().length} missing=${missing.length} (runs ${runs.join(', ')}); active runs: ${activeRunIds(world.sim).join(', ')}; requests: ${world.receiver.requests.map((r) => r.status ?? r.outcome).join(',')}`;
}

/**
 * Waits until the simulator is idle (every scripted run played out) and every span of every terminal
 * run has been accepted at least once; returns the expected spans.
 */
export async function waitForEverything(world: World, options: ExpectedOptions & { timeoutMs?: number; extraDetails?: () => string } = {}): Promise<SpanData[]> {
  return waitUntil(
    () => {
      if (!world.sim.idle) return undefined;
      const expected = expectedSpans(world, options);
      return allArrived(world, expected) ? expected : undefined;
    },
    {
      timeoutMs: options.timeoutMs ?? 30_000,
      what: 'every span of every terminal run to be accepted',
      details: () => `${missingReport(world, options)}${options.extraDetails ? `\n${options.extraDetails()}` : ''}`,
    },
  );
}

/** A decoded span with every field, as canonical JSON (bigint as decimal text, bytes as hex). */
export function canonical(span: ReceivedSpan): string {
  return JSON.stringify(span, (_key, value: unknown) => {
    if (typeof value === 'bigint') return `${value.toString()}n`;
    if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('hex')}`;
    return value;
  });
}

/** Every decoded copy of every span across all requests (accepted or not), by span id. */
export function copiesById(requests: readonly ReceivedRequest[]): Map<string, Array<{ request: number; accepted: boolean; json: string }>> {
  const copies = new Map<string, Array<{ request: number; accepted: boolean; json: string }>>();
  for (const request of requests) {
    for (const span of request.spans) {
      const list = copies.get(span.spanId) ?? [];
      list.push({ request: request.index, accepted: request.accepted, json: canonical(span) });
      copies.set(span.spanId, list);
    }
  }
  return copies;
}

/** Tool call spans under their step span, step spans under their run span, one trace per run. */
export function treeProblems(spans: readonly ReceivedSpan[]): string[] {
  const problems: string[] = [];
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const traceOfRun = new Map<string, Set<string>>();
  for (const span of spans) {
    const subject = subjectOf(span);
    const traces = traceOfRun.get(subject.runId) ?? new Set<string>();
    traces.add(span.traceId);
    traceOfRun.set(subject.runId, traces);
    if (subject.kind === 'run') continue;
    const parent = byId.get(span.parentSpanId);
    if (!parent) {
      problems.push(`${span.name} ${span.spanId}: parent ${span.parentSpanId} was not received`);
      continue;
    }
    const parentSubject = subjectOf(parent);
    const wanted = subject.kind === 'step' ? 'run' : 'step';
    if (parentSubject.kind !== wanted || parentSubject.runId !== subject.runId || (wanted === 'step' && parentSubject.stepId !== subject.stepId)) {
      problems.push(`${span.name} ${span.spanId} (${subject.kind} of run ${subject.runId}) has parent ${parent.name} ${parent.spanId} (${parentSubject.kind} of run ${parentSubject.runId})`);
    }
    if (parent.traceId !== span.traceId) problems.push(`${span.name} ${span.spanId}: trace ${span.traceId} differs from its parent's ${parent.traceId}`);
  }
  for (const [runId, traces] of traceOfRun) if (traces.size !== 1) problems.push(`run ${runId} spans ${traces.size} traces`);
  const runTraces = [...traceOfRun.values()].map((t) => [...t][0]);
  if (new Set(runTraces).size !== runTraces.length) problems.push('two runs share a trace');
  return problems;
}

/** Requests (simulator records) of one operation, in arrival order. */
export function simRequests(sim: Simulator, operation?: string) {
  return sim.requests.filter((r) => operation === undefined || r.operation === operation);
}

/** The whole output of a CLI process, for assertion messages. */
export function outputOf(cli: RunningCli): string {
  return `--- stderr ---\n${cli.stderr()}\n--- stdout ---\n${cli.stdout()}`;
}
