import { setImmediate as flushIo, setTimeout as sleep } from 'node:timers/promises';
import type { ApiRun, ApiStep, ApiThread } from './api-types.js';
import { createManualClock, createRealClock, type ScenarioClock } from './clock.js';
import { addThread, defaultScriptFor, settledNow, startRunNow, type Core, type RunScriptChooser } from './core.js';
import { FaultBook, type FaultController } from './faults.js';
import { createIdFactory, type IdFactory } from './ids.js';
import { isTerminalRun } from './model.js';
import { DEFAULT_MANUAL_BASE_EPOCH_SECONDS, DEFAULT_SEED, type SimulatorOptions } from './options.js';
import { resolveScenario } from './scenario.js';
import type { RunScriptInput } from './scenario-schema.js';
import type { RunTemplateName } from './scenarios/templates.js';
import { SimulatorServer, type RequestRecord } from './server.js';
import { SimulatorState } from './state.js';
import { runRecord, runView, snapshotView, stepsView, threadRecord, threadView, type StateSnapshot, type ThreadRecords } from './views.js';
import { populate, type RunDefaults, type RunParams } from './world.js';

export type { StateSnapshot, ThreadRecords } from './views.js';

export interface StartRunOptions extends RunParams {
  /** A fixed run ID instead of a generated one. */
  id?: string;
}

export interface Simulator {
  /** Base URL including the prefix, ready for `OPENAI_BASE_URL` / `new OpenAI({baseURL})`. */
  readonly url: string;
  /** `http://host:port` (`https://` with `tls`), without the prefix. */
  readonly origin: string;
  readonly port: number;
  /** Every request so far, in arrival order, credentials redacted. */
  readonly requests: readonly RequestRecord[];
  /** Requests per operation ID (plus `unmatched`). */
  readonly counters: Readonly<Record<string, number>>;
  readonly faults: FaultController;
  /** All threads, runs and steps as the API would return them now. */
  readonly state: StateSnapshot;
  /** Scenario seconds now. */
  readonly now: number;
  /**
   * True once nothing more will happen by itself: every run is terminal or waits for a client's
   * tool outputs, and no scripted run is still to start. (`state.runs` lists only runs that exist.)
   */
  readonly idle: boolean;
  /** Manual clock: move time forward by `seconds` and apply everything due. */
  advance(seconds: number): Promise<void>;
  /** Manual clock: move to scenario second `seconds`. */
  advanceTo(seconds: number): Promise<void>;
  /**
   * Play until nothing more happens by itself (runs waiting for a client's tool outputs wait).
   * Manual clock: jumps; real clock: waits. Stops at `limitSeconds` of scenario time (default 86400).
   */
  runUntilIdle(options?: { limitSeconds?: number }): Promise<void>;
  createThread(options?: { metadata?: Record<string, string>; messages?: { role: 'user' | 'assistant'; content: string }[] }): ApiThread;
  /** Adds a run to a thread now, playing a script or a template (e.g. `'every-tool'`). */
  startRun(threadId: string, script: RunScriptInput | RunTemplateName, options?: StartRunOptions): ApiRun;
  /** Like the HTTP call, keyed by tool call ID; a call left out gets the output its script names. */
  submitToolOutputs(threadId: string, runId: string, outputs: Record<string, string>): ApiRun;
  cancelRun(threadId: string, runId: string): ApiRun;
  recordsFor(threadId: string): ThreadRecords | undefined;
  run(threadId: string, runId: string): ApiRun | undefined;
  /** A run's steps in creation order; `includeFileSearchContent` is the `include[]` option. */
  steps(runId: string, options?: { includeFileSearchContent?: boolean }): ApiStep[];
  /** Forgets `requests` and `counters`. */
  resetRequests(): void;
  /** Stops the server and destroys every connection. Safe to call twice. */
  close(): Promise<void>;
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/\/+$/, '');
  return trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function chooser(option: SimulatorOptions['runScript']): RunScriptChooser {
  if (option === undefined) return defaultScriptFor;
  if (typeof option === 'function') return option;
  return () => option;
}

/**
 * The real clock's scenario time 0, in Unix seconds. At speed 1 (or slower) it is the wall clock
 * at start: records are never ahead of it. Faster, scenario time runs ahead of the wall clock, so
 * time 0 is put that much in the past: the scripted scenario (its `lengthSeconds`) ends, in its
 * records, exactly when it ends on the wall clock, and no record of it is ever stamped in the
 * future (a sidecar would see negative lags, and a trace UI's "last hour" might not show them).
 */
export function realClockBase(wallSeconds: number, speed: number, lengthSeconds: () => number): number {
  if (!(speed > 1)) return Math.floor(wallSeconds);
  return Math.floor(wallSeconds - (lengthSeconds() * (speed - 1)) / speed);
}

/**
 * How long the scenario's scripted part lasts, in scenario seconds: the scenario played on a manual
 * clock of its own (separate IDs, so the real one's are unchanged) until nothing happens by itself
 * any more (a run waiting for a client's tool outputs is waiting, not playing). At most a day.
 */
export function scriptedLengthSeconds(scenario: ReturnType<typeof resolveScenario>, seed: string, defaultsOf: (ids: IdFactory) => RunDefaults): number {
  const LIMIT = 86_400;
  const ids = createIdFactory(seed);
  const dryRun = new SimulatorState((t) => Math.floor(t));
  populate(dryRun, scenario, ids, defaultsOf(ids), scenario.name ?? 'scenario');
  let end = 0;
  // A client (the demo's, say) submits tool outputs as soon as it sees them asked for: so here too.
  const answerClients = (t: number) => {
    for (const thread of dryRun.allThreads()) {
      for (const run of dryRun.visibleRuns(thread.id)) if (run.waiting?.by === 'client') dryRun.submit(run, new Map(), t);
    }
  };
  dryRun.settle(0);
  answerClients(0);
  for (let next = dryRun.nextSelfDrivenTime(); next !== null && next <= LIMIT; next = dryRun.nextSelfDrivenTime()) {
    end = Math.max(end, next);
    dryRun.settle(next);
    answerClients(next);
  }
  return end;
}

export async function createSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const scenario = resolveScenario(options.scenario);
  const clock: ScenarioClock = options.clock === 'real' ? createRealClock(options.timeScaleMillisPerSecond ?? 1000) : createManualClock();
  const seed = String(options.seed ?? scenario.seed ?? DEFAULT_SEED);
  const defaultsOf = (ids: IdFactory) => ({
    assistantId: scenario.defaults.assistantId ?? ids.next('asst_'),
    model: scenario.defaults.model ?? 'gpt-4o',
    instructions: scenario.defaults.instructions === undefined ? 'You are a helpful assistant.' : scenario.defaults.instructions,
  });
  const base =
    options.baseEpochSeconds ??
    scenario.baseEpochSeconds ??
    (clock.kind === 'real'
      ? realClockBase(Date.now() / 1000, options.neverAhead ? 1000 / (options.timeScaleMillisPerSecond ?? 1000) : 1, () => scriptedLengthSeconds(scenario, seed, defaultsOf))
      : DEFAULT_MANUAL_BASE_EPOCH_SECONDS);
  const ids = createIdFactory(seed);
  const epoch = (t: number) => base + Math.floor(t);
  const state = new SimulatorState(epoch);
  const defaults = defaultsOf(ids);
  const core: Core = { state, clock, ids, epoch, defaults, scriptFor: chooser(options.runScript) };
  populate(state, scenario, ids, defaults, scenario.name ?? 'scenario');
  state.settle(clock.now());

  const faults = new FaultBook();
  for (const rule of [...scenario.faults, ...(options.faults ?? [])]) faults.add(rule);
  const auth = options.auth ?? 'none';
  const apiVersions = options.apiVersion === undefined ? [] : typeof options.apiVersion === 'string' ? [options.apiVersion] : [...options.apiVersion];
  const log = options.log ?? (() => {});
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  /** Real clock: wake up when the next transition is due, so streams get their events on time. */
  const arm = () => {
    if (clock.kind !== 'real' || closed) return;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const next = state.nextWakeTime();
    if (next === null) return;
    timer = setTimeout(() => {
      timer = null;
      settledNow(core);
      arm();
    }, Math.min(clock.millisUntil(next) + 1, 2_147_483_647));
    timer.unref();
  };

  const server = new SimulatorServer(core, faults, {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    tls: options.tls,
    prefix: normalizePrefix(options.prefix ?? ''),
    auth,
    apiVersions,
    requireBetaHeader: options.requireBetaHeader ?? false,
    azureHeaders: options.azureHeaders ?? ((auth !== 'none' && auth.kind === 'api-key') || apiVersions.length > 0),
    dateHeader: options.dateHeader ?? true,
    pollAfterMillis: clock.kind === 'real' ? Math.max(1, Math.ceil(options.timeScaleMillisPerSecond ?? 1000)) : 10,
    log,
    onActivity: arm,
  });
  const port = await server.listen();
  const host = options.host ?? '127.0.0.1';
  const origin = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const url = origin + normalizePrefix(options.prefix ?? '');
  log(`simulator listening on ${url} (scenario ${scenario.name ?? 'custom'}, ${clock.kind} clock)`);
  arm();

  const requireManual = (what: string) => {
    if (clock.kind !== 'manual') throw new Error(`${what} needs the manual clock; with the real clock time moves by itself`);
  };
  const moveTo = async (t: number) => {
    clock.set(t);
    state.settle(t);
    await flushIo(); // let streams write what the transitions produced
  };
  const runOrThrow = (threadId: string, runId: string) => {
    const run = state.findRun(threadId, runId);
    if (run === undefined) throw new Error(`no run ${runId} in thread ${threadId}`);
    return run;
  };

  return {
    url,
    origin,
    port,
    faults,
    get requests() {
      return server.requests;
    },
    get counters() {
      return Object.fromEntries(server.counters);
    },
    get now() {
      return clock.now();
    },
    get state() {
      return snapshotView(core);
    },
    get idle() {
      settledNow(core);
      return state.nextSelfDrivenTime() === null;
    },
    async advance(seconds) {
      requireManual('advance');
      if (!(seconds >= 0)) throw new RangeError(`advance needs seconds >= 0, got ${seconds}`);
      await moveTo(clock.now() + seconds);
    },
    async advanceTo(seconds) {
      requireManual('advanceTo');
      await moveTo(seconds);
    },
    async runUntilIdle(opts = {}) {
      const limit = opts.limitSeconds ?? 86_400;
      while (!closed) {
        const now = settledNow(core);
        const next = state.nextSelfDrivenTime();
        if (next === null || next > limit) break;
        if (clock.kind === 'manual') await moveTo(Math.max(now, next));
        else await sleep(clock.millisUntil(next) + 1);
      }
      await flushIo();
    },
    createThread(opts = {}) {
      const messages = (opts.messages ?? []).map((m) => ({ role: m.role, text: m.content }));
      const thread = addThread(core, opts.metadata ?? {}, messages, settledNow(core));
      arm();
      return threadRecord(core, thread.id) as ApiThread;
    },
    startRun(threadId, script, opts = {}) {
      if (state.thread(threadId) === undefined) throw new Error(`no thread ${threadId}`);
      const { id, ...params } = opts;
      const { run } = startRunNow(core, threadId, params, script, undefined, id);
      arm();
      return runRecord(core, threadId, run.id);
    },
    submitToolOutputs(threadId, runId, outputs) {
      const run = runOrThrow(threadId, runId);
      const t = settledNow(core);
      if (run.status !== 'requires_action') throw new Error(`run ${runId} is ${run.status}, not requires_action`);
      state.submit(run, new Map(Object.entries(outputs)), t);
      arm();
      return runRecord(core, threadId, runId);
    },
    cancelRun(threadId, runId) {
      const run = runOrThrow(threadId, runId);
      const t = settledNow(core);
      if (isTerminalRun(run.status) || run.status === 'cancelling') throw new Error(`run ${runId} is ${run.status} and cannot be cancelled`);
      state.cancel(run, t);
      arm();
      return runRecord(core, threadId, runId);
    },
    recordsFor(threadId) {
      return threadView(core, threadId);
    },
    run(threadId, runId) {
      return runView(core, threadId, runId);
    },
    steps(runId, opts = {}) {
      return stepsView(core, runId, opts.includeFileSearchContent ?? false);
    },
    resetRequests() {
      server.requests.length = 0;
      server.counters.clear();
    },
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await server.close();
    },
  };
}
