/**
 * The sidecar's life: it runs until told to stop; SIGTERM stops polling, flushes, persists and exits
 * 0, and a restart on the same state file re-exports nothing acknowledged; a collector that does not
 * take the spans cannot hold the exit past `--drain-timeout`; a second signal exits at once.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  activeRunIds,
  cleanupAll,
  countById,
  formatTree,
  longRun,
  mergeScenarios,
  outputOf,
  registrationUrl,
  scenario,
  simRequests,
  startWatch,
  startWorld,
  waitForEverything,
  waitUntil,
} from './helpers.js';

afterEach(cleanupAll);

describe('watch lifecycle', () => {
  it('keeps running without --listen until signalled, and exports a run started after a quiet spell', async () => {
    const world = await startWorld();
    const thread = world.sim.createThread();
    world.threads = [thread.id];
    const cli = startWatch(world, ['--memory-state'], { listen: false });
    await cli.waitForOutput(/sidecar started/, { stream: 'stderr' });
    let exited = false;
    void cli.exited.then(() => (exited = true));

    // Idle discovery backs off 100 → 200 → 400 ms; five discoveries take about a second of quiet.
    await waitUntil(() => exited || simRequests(world.sim, 'listRuns').length >= 5, { what: 'five discoveries of the idle thread', timeoutMs: 10_000 });
    expect(exited, `the sidecar exited by itself (${JSON.stringify(await Promise.race([cli.exited, Promise.resolve('running')]))}) after ${simRequests(world.sim, 'listRuns').length} discoveries\n${outputOf(cli)}`).toBe(false);

    const run = world.sim.startRun(thread.id, 'message');
    const spans = await world.receiver.waitFor((s) => s.some((x) => x.attributes['assistants.run.id'] === run.id && x.name.startsWith('invoke_agent')), 10_000, `run ${run.id}`);
    expect(spans.length).toBe(2);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toMatch(/stopping: draining deliveries[\s\S]*stopped/);
  });

  it('SIGTERM stops polling, flushes and persists; a restart re-exports nothing acknowledged', async () => {
    const world = await startWorld({
      scenario: mergeScenarios('lifecycle', [
        scenario('demo'),
        { threads: [{ id: 'thread_longrun', runs: [longRun('run_long', 60, 1)] }] },
        // In flight until the test submits its tool outputs, between the first and second process.
        { threads: [{ id: 'thread_waiting', runs: [{ id: 'run_waiting', startAt: 0, template: 'function-client' }] }] },
      ]),
    });
    const state = join(world.dir, 'state.json');
    // A slow collector, so that SIGTERM finds spans on their way.
    world.script = () => ({ status: 200, delayMs: 700 });

    const first = startWatch(world, ['--state', state, '--drain-timeout', '20s']);
    await first.waitForOutput(/sidecar started/, { stream: 'stderr' });
    await waitUntil(() => world.receiver.requests.some((r) => r.outcome === 'pending') && activeRunIds(world.sim).includes('run_waiting'), {
      what: 'an export in flight while run_waiting is still going',
      details: () => outputOf(first),
    });
    const simStart = world.simStartedAt;
    const signalledAt = performance.now();
    first.child.kill('SIGTERM');
    await first.waitForOutput(/stopping: draining deliveries/, { stream: 'stderr' });
    const stopAt = performance.now(); // the sidecar has begun stopping by now
    expect(await first.exited, outputOf(first)).toEqual({ code: 0, signal: null });
    expect(performance.now() - signalledAt).toBeGreaterThan(300); // it waited for the slow collector...
    expect(first.stderr()).toMatch(/stopping: draining deliveries[\s\S]*flushing before exit spans=\d+[\s\S]*stopped/);
    // ...and everything it sent was answered 200: nothing abandoned mid-flight.
    expect(world.receiver.requests.map((r) => r.status)).toEqual(world.receiver.requests.map(() => 200));
    // Polling stopped at the signal: no API request arrived after the sidecar said it was stopping (100 ms of slack).
    const late = world.sim.requests.filter((r) => simStart + r.receivedAtMs > stopAt + 100);
    expect(late.map((r) => `${r.method} ${r.path} at +${Math.round(simStart + r.receivedAtMs - stopAt)} ms`)).toEqual([]);
    // Persisted: the lock is released and the snapshot lists what was acknowledged.
    expect(existsSync(`${state}.lock`)).toBe(false);
    const snapshot = JSON.parse(await readFile(state, 'utf8')) as { done: Record<string, number> };
    const acknowledgedRuns = new Set(world.receiver.spans().filter((s) => s.name.startsWith('invoke_agent')).map((s) => String(s.attributes['assistants.run.id'])));
    expect(acknowledgedRuns.size).toBeGreaterThan(0);
    expect(Object.keys(snapshot.done).sort()).toEqual([...acknowledgedRuns].sort());
    const afterFirst = world.receiver.spans().length;

    // Second process, same state: the rest of the scenario, nothing twice.
    world.script = undefined;
    await waitUntil(() => world.sim.run('thread_waiting', 'run_waiting')?.status === 'requires_action', { what: 'run_waiting to wait for its tool outputs' });
    world.sim.submitToolOutputs('thread_waiting', 'run_waiting', {});
    const second = startWatch(world, ['--state', state]);
    const expected = await waitForEverything(world, { extraDetails: () => outputOf(second) });
    expect(await second.kill('SIGTERM'), outputOf(second)).toEqual({ code: 0, signal: null });
    const received = world.receiver.spans();
    expect(received.length).toBeGreaterThan(afterFirst);
    expect([...countById(received)].filter(([, n]) => n > 1), formatTree(received)).toEqual([]);
    expect(received.length).toBe(expected.length);
    expect(world.check.violations).toEqual([]);

    // Third process, same state, everything already done: it looks at every thread, sends nothing.
    const before = world.receiver.requests.length;
    const discoveries = () => new Map(world.threads.map((t) => [t, world.sim.requests.filter((r) => r.operation === 'listRuns' && r.path.includes(t)).length]));
    const start = discoveries();
    const third = startWatch(world, ['--state', state]);
    await waitUntil(() => world.threads.every((t) => (discoveries().get(t) ?? 0) >= (start.get(t) ?? 0) + 2), {
      what: 'two discoveries of every thread by the third process',
      details: () => outputOf(third),
    });
    expect(await third.kill('SIGTERM'), outputOf(third)).toEqual({ code: 0, signal: null });
    expect(world.receiver.requests.length, formatTree(world.receiver.spans().slice(received.length))).toBe(before);
  });

  it('with the collector answering 503 forever, SIGTERM exits after --drain-timeout; nothing is lost', async () => {
    const world = await startWorld();
    const thread = world.sim.createThread();
    world.threads = [thread.id];
    world.script = () => ({ status: 503 });
    const state = join(world.dir, 'state.json');
    const cli = startWatch(world, ['--state', state, '--drain-timeout', '1500ms']);
    await cli.waitForOutput(/sidecar started/, { stream: 'stderr' });
    const run = world.sim.startRun(thread.id, 'every-tool');
    await waitUntil(() => world.receiver.requests.length >= 1, { what: 'a first (refused) export', details: () => outputOf(cli) });

    const stopAt = performance.now();
    const exit = await Promise.race([cli.kill('SIGTERM'), new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 12_000))]);
    const took = performance.now() - stopAt;
    expect(exit, outputOf(cli)).toEqual({ code: 0, signal: null });
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took, 'exit within the drain timeout plus a little').toBeLessThan(1_500 + 2_500);
    // Every span not acknowledged is counted in the line, the one in flight and those queued behind it.
    const flushing = /flushing before exit .*spans=(\d+)/.exec(cli.stderr());
    expect(flushing, cli.stderr()).not.toBeNull();
    expect(cli.stderr()).toMatch(new RegExp(`delivery stopped before the collector acknowledged ${flushing?.[1]} spans; they will be exported again after restart`));
    expect(world.receiver.spans()).toEqual([]);

    // The collector is back: the run is exported after restart.
    world.script = undefined;
    const again = startWatch(world, ['--state', state]);
    const expected = await waitForEverything(world, { extraDetails: () => outputOf(again) });
    expect(expected.some((s) => s.subject.runId === run.id)).toBe(true);
    expect(await again.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect([...countById(world.receiver.spans())].filter(([, n]) => n > 1)).toEqual([]);
  });

  it('with a collector that never answers, SIGTERM still exits after --drain-timeout', async () => {
    const world = await startWorld();
    const thread = world.sim.createThread();
    world.threads = [thread.id];
    world.script = () => ({ status: 200, delayMs: 60_000 }); // holds the request: a black hole
    const cli = startWatch(world, ['--memory-state', '--drain-timeout', '1s']);
    await cli.waitForOutput(/sidecar started/, { stream: 'stderr' });
    world.sim.startRun(thread.id, 'message');
    await waitUntil(() => world.receiver.requests.some((r) => r.outcome === 'pending'), { what: 'an export held by the collector', details: () => outputOf(cli) });

    const stopAt = performance.now();
    const exit = await Promise.race([cli.kill('SIGTERM'), new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000))]);
    const took = performance.now() - stopAt;
    expect(exit, outputOf(cli)).toEqual({ code: 0, signal: null });
    expect(took, `SIGTERM → exit took ${Math.round(took)} ms with --drain-timeout 1s\n${outputOf(cli)}`).toBeLessThan(1_000 + 2_500);
  });

  it('a second signal during the drain exits at once', async () => {
    const world = await startWorld();
    const thread = world.sim.createThread();
    world.threads = [thread.id];
    world.script = () => ({ status: 503 });
    const cli = startWatch(world, ['--memory-state', '--drain-timeout', '60s']);
    const url = await registrationUrl(cli);
    world.sim.startRun(thread.id, 'message');
    await waitUntil(() => world.receiver.requests.length >= 1, { what: 'a first (refused) export', details: () => outputOf(cli) });

    cli.child.kill('SIGTERM');
    await cli.waitForOutput(/stopping: draining deliveries/, { stream: 'stderr' });
    // While it drains, /healthz tells load balancers to stop sending.
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'stopping' });
    const secondAt = performance.now();
    const exit = await cli.kill('SIGINT');
    expect(performance.now() - secondAt).toBeLessThan(2_000);
    expect(exit).toEqual({ code: 130, signal: null });
    expect(cli.stderr()).toMatch(/second SIGINT, exiting now/);
  });
});
