/**
 * `kill -9` at several points mid-scenario, each time restarted on the same `--state` file: every
 * terminal run is eventually exported, and every span that arrived more than once (counting every
 * copy that reached the collector, answered or not) is identical in every decoded field.
 *
 * Kill points, each taken while watched runs are still in flight (run_waiting always is: it waits
 * for tool outputs the test submits only after the last kill):
 *   1. after the first acknowledged export;
 *   2. while an export is on the wire (the collector holds its answer), so that run must be resent;
 *   3. on the new process's first poll of a run (mid-poll, before anything of this life was exported);
 *   4. after the collector answered 200 and before the process can have recorded it (its answer is
 *      the trigger), the window that makes identical resends necessary.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  activeRunIds,
  cleanupAll,
  copiesById,
  formatTree,
  longRun,
  mergeScenarios,
  outputOf,
  scenario,
  startWatch,
  startWorld,
  subjectOf,
  treeProblems,
  waitForEverything,
  waitUntil,
  type World,
} from './helpers.js';
import type { RunningCli } from '../../support/cli.js';

afterEach(cleanupAll);

interface Kill {
  name: string;
  /** Prepares the world for this kill (receiver behaviour); returns the condition to kill on. */
  arm(world: World, cli: RunningCli): () => boolean;
}

const requestsAtStart = new WeakMap<RunningCli, number>();

const KILLS: Kill[] = [
  {
    name: 'after the first acknowledged export',
    arm: (world, cli) => () => world.receiver.requests.slice(requestsAtStart.get(cli)).some((r) => r.accepted),
  },
  {
    name: 'while an export is on the wire',
    arm: (world, cli) => {
      world.script = () => ({ status: 200, delayMs: 2_000 });
      return () => world.receiver.requests.slice(requestsAtStart.get(cli)).some((r) => r.outcome === 'pending');
    },
  },
  {
    name: 'on its first poll of a run',
    arm: (world) => {
      world.script = undefined;
      const before = world.sim.requests.length;
      return () => world.sim.requests.slice(before).some((r) => r.operation === 'getRun' || r.operation === 'listRunSteps');
    },
  },
  {
    name: 'right after the collector acknowledged',
    arm: (world, cli) => () => world.receiver.requests.slice(requestsAtStart.get(cli)).some((r) => r.accepted),
  },
];

describe.each([
  { mode: 'batch', flags: [] as string[] },
  { mode: 'live', flags: ['--live'] },
])('watch survives kill -9 ($mode mode)', ({ flags }) => {
  it('nothing lost across four SIGKILLs; every duplicate identical', async () => {
    const world = await startWorld({
      timeScaleMillisPerSecond: 30,
      scenario: mergeScenarios('crash', [
        scenario('demo'),
        scenario('many-threads:3x3'),
        { threads: [{ id: 'thread_longrun', runs: [longRun('run_long', 150, 3)] }] },
        // Waits for tool outputs until the test submits them after the last kill: a run in flight at every kill, however slow the machine.
        { threads: [{ id: 'thread_waiting', runs: [{ id: 'run_waiting', startAt: 0, template: 'function-client' }] }] },
      ]),
    });
    const state = join(world.dir, 'state.json');
    const logs: string[] = [];
    const inFlightAtKill: string[][] = [];

    for (const kill of KILLS) {
      const cli = startWatch(world, ['--state', state, ...flags]);
      requestsAtStart.set(cli, world.receiver.requests.length);
      const condition = kill.arm(world, cli);
      await waitUntil(() => condition() && activeRunIds(world.sim, world.threads).length > 0, {
        what: `kill point "${kill.name}" with a run in flight`,
        details: () => outputOf(cli),
      });
      inFlightAtKill.push(activeRunIds(world.sim, world.threads));
      expect(await cli.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      logs.push(`--- ${kill.name} ---\n${cli.stderr()}`);
    }
    expect(inFlightAtKill.every((runs) => runs.includes('run_waiting'))).toBe(true);

    world.script = undefined;
    await waitUntil(() => world.sim.run('thread_waiting', 'run_waiting')?.status === 'requires_action', { what: 'run_waiting to wait for its tool outputs' });
    world.sim.submitToolOutputs('thread_waiting', 'run_waiting', {});
    const last = startWatch(world, ['--state', state, ...flags]);
    const expected = await waitForEverything(world, { extraDetails: () => `${logs.join('\n')}\n--- last ---\n${outputOf(last)}` });
    expect(await last.kill('SIGTERM'), outputOf(last)).toEqual({ code: 0, signal: null });

    // Nothing lost: every span of every terminal run was accepted (waitForEverything), and the runs
    // in flight at each kill are among them.
    const exportedRuns = new Set(world.receiver.spans().filter((s) => subjectOf(s).kind === 'run').map((s) => subjectOf(s).runId));
    for (const runs of inFlightAtKill) for (const runId of runs) expect(exportedRuns, `run ${runId}, in flight at a kill`).toContain(runId);

    // Every copy of a span, accepted or not, is identical in every field.
    const copies = copiesById(world.receiver.requests);
    const resent = [...copies].filter(([, list]) => list.length > 1);
    for (const [spanId, list] of resent) {
      const distinct = new Set(list.map((c) => c.json));
      expect(distinct.size, `span ${spanId} was sent ${list.length} times (requests ${list.map((c) => c.request).join(', ')}) with differences:\n${[...distinct].join('\n')}`).toBe(1);
    }
    // The kill while an export was on the wire guarantees at least one resend.
    expect(resent.length).toBeGreaterThan(0);

    // Nothing but terminal records, and the tree and the IDs are those of the mapping.
    expect(world.check.violations).toEqual([]);
    const received = world.receiver.spans();
    const unique = [...new Map(received.map((s) => [s.spanId, s])).values()];
    expect(treeProblems(unique), formatTree(unique)).toEqual([]);
    expect(new Set(unique.map((s) => s.spanId))).toEqual(new Set(expected.map((s) => s.spanId)));
    const byId = new Map(unique.map((s) => [s.spanId, s]));
    for (const span of expected) {
      const got = byId.get(span.spanId);
      expect({ traceId: got?.traceId, parent: got?.parentSpanId }).toEqual({ traceId: span.traceId, parent: span.parentSpanId ?? '' });
    }
  });
});
