// The API benchmark's scenario (issue #11, targets): threads each running runs back to back, a run
// starting the second its predecessor ends, each run lasting 20 s with a median of 8 steps (4–12,
// seeded), played by the simulator on the real clock. Every transition falls on a whole second, so
// the records' whole-second timestamps give each run's creation and end exactly.
import { prng } from './records.mjs';

export const RUN_SECONDS = 20;

/** A run of `k` steps over `seconds` (20 by default): queued 1 s, the steps, completed 1 s after. */
function runScript(id, startAt, k, random, seconds) {
  const total = seconds - 2;
  const durations = Array.from({ length: k }, (_, i) => Math.floor(total / k) + (i < total % k ? 1 : 0));
  const steps = durations.map((durationSeconds, i) =>
    random() < 0.4
      ? { type: 'tool_calls', durationSeconds, toolCalls: [{ type: 'code_interpreter', input: `print(${i})`, outputs: [{ type: 'logs', logs: String(i) }] }] }
      : { type: 'message_creation', text: `part ${i + 1} of ${k}`, durationSeconds },
  );
  return { id, startAt, steps, outcome: { status: 'completed' } };
}

/**
 * `threads` threads × `runsPerThread` runs back to back. Thread t's first run starts at 2 + (t % 4)
 * scenario seconds, so that not every thread turns over in the same second.
 */
export function backToBackScenario({ threads, runsPerThread, runSeconds = RUN_SECONDS, seed = 7 }) {
  const random = prng(seed);
  // The median of 8 steps over 20 s; shorter runs (--quick) get proportionally fewer (at least 1 s each).
  const maxSteps = Math.max(1, Math.min(12, runSeconds - 2));
  return {
    name: `back-to-back:${threads}x${runsPerThread}`,
    threads: Array.from({ length: threads }, (_, t) => ({
      id: `thread_b2b_${t}`,
      runs: Array.from({ length: runsPerThread }, (_, r) => runScript(`run_b2b_${t}_${r}`, 2 + (t % 4) + r * runSeconds, Math.min(maxSteps, 4 + Math.floor(random() * 9)), random, runSeconds)),
    })),
  };
}

/** Each run as played: thread, creation and terminal scenario seconds, step count. */
export function runsAsPlayed(state) {
  const base = state.epochSeconds - Math.floor(state.scenarioSeconds);
  const steps = new Map();
  for (const step of state.steps) steps.set(step.run_id, (steps.get(step.run_id) ?? 0) + 1);
  return state.runs.map((run) => {
    const ends = [run.completed_at, run.failed_at, run.cancelled_at, run.expired_at].filter((v) => typeof v === 'number');
    return {
      runId: run.id,
      threadId: run.thread_id,
      createdSecond: run.created_at - base,
      endSecond: ends.length > 0 ? Math.min(...ends) - base : undefined,
      steps: steps.get(run.id) ?? 0,
    };
  });
}

/**
 * The lower bounds of the issue, from the runs as played, poll interval `P` seconds:
 *
 * - thread-watched: one request per interval while the thread is active (its first run's creation
 *   to its last run's end), plus one steps page per 100 steps of each run;
 * - runs watched alone (registered at creation): one request per interval while each run is active,
 *   plus its steps pages;
 * - live (thread-watched): the thread-watched bound plus one steps page per interval while a run is
 *   active (that is what seeing each step within an interval of its end takes).
 */
export function lowerBounds(runs, P) {
  const pages = (r) => Math.max(1, Math.ceil(r.steps / 100));
  const intervals = (seconds) => Math.max(1, Math.ceil(seconds / P));
  const byThread = new Map();
  for (const r of runs) byThread.set(r.threadId, [...(byThread.get(r.threadId) ?? []), r]);
  let threadIntervals = 0;
  for (const list of byThread.values()) {
    const from = Math.min(...list.map((r) => r.createdSecond));
    const to = Math.max(...list.map((r) => r.endSecond ?? r.createdSecond));
    threadIntervals += intervals(to - from);
  }
  const runIntervals = runs.reduce((sum, r) => sum + intervals((r.endSecond ?? r.createdSecond) - r.createdSecond), 0);
  const stepPages = runs.reduce((sum, r) => sum + pages(r), 0);
  return {
    threadWatched: threadIntervals + stepPages,
    registered: runIntervals + stepPages,
    live: threadIntervals + runIntervals + stepPages,
    parts: { threadIntervals, runIntervals, stepPages },
  };
}
