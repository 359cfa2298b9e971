import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type ApiRun, type Simulator } from '../../src/simulator/index.js';
import { call } from './helpers.js';

let sim: Simulator;
afterEach(async () => {
  await sim.close();
});

describe('the real clock', () => {
  it('plays a scenario by itself; runUntilIdle waits for the end', async () => {
    const before = Math.floor(Date.now() / 1000);
    sim = await createSimulator({ scenario: 'every-type', clock: 'real', timeScaleMillisPerSecond: 2, neverAhead: true });
    await expect(sim.advance(1)).rejects.toThrow(/manual clock/);
    await sim.runUntilIdle();
    expect(sim.idle).toBe(true);
    expect(sim.state.upcomingRuns).toBe(0);
    expect(sim.now).toBeGreaterThanOrEqual(40);
    const statuses = sim.state.runs.map((r) => r.status).sort();
    expect(statuses).toEqual(['cancelled', 'completed', 'expired', 'failed', 'incomplete', 'requires_action']);
    // Faster than real time, scenario time 0 lies in the past by the scripted length × (speed − 1) /
    // speed (every-type lasts 55 s): the scenario ends, in its records, when it ends on the wall clock.
    const after = Date.now() / 1000;
    const snapshot = sim.state;
    const times = [...snapshot.runs, ...snapshot.steps].flatMap((record) =>
      Object.entries(record).filter(([key, value]) => key.endsWith('_at') && key !== 'expires_at' && typeof value === 'number').map(([, value]) => value as number),
    );
    expect(times.length).toBeGreaterThan(20);
    expect(Math.max(...times), 'no record in the future').toBeLessThanOrEqual(after);
    expect(Math.min(...snapshot.runs.map((r) => r.created_at))).toBeGreaterThanOrEqual(before - 55);
    // Recent all the same: the latest record is seconds old (the scripted length counts a client's
    // tool outputs as submitted at once; nobody submits them here, so that run's tail never plays).
    expect(Math.max(...times)).toBeGreaterThanOrEqual(before - 10);
  });

  it('without neverAhead, scenario time 0 is the wall clock at start (records then run ahead of it)', async () => {
    const before = Math.floor(Date.now() / 1000);
    sim = await createSimulator({ scenario: 'every-type', clock: 'real', timeScaleMillisPerSecond: 2 });
    await sim.runUntilIdle();
    expect(Math.min(...sim.state.runs.map((r) => r.created_at))).toBeGreaterThanOrEqual(before);
  });

  it('neverAhead at speed > 1: no record and no Date header is ever ahead of the wall clock while the scenario plays', async () => {
    sim = await createSimulator({ scenario: 'demo', clock: 'real', timeScaleMillisPerSecond: 20, neverAhead: true });
    const ahead: string[] = [];
    for (let i = 0; i < 40 && !sim.idle; i++) {
      const answer = await call<unknown>(sim, '/threads/nope/runs');
      const wall = Date.now() / 1000;
      const date = Date.parse(answer.headers.get('date') ?? '') / 1000;
      if (date > wall) ahead.push(`Date ${date} > wall ${wall}`);
      for (const run of sim.state.runs) {
        for (const [key, value] of Object.entries(run)) if (key.endsWith('_at') && key !== 'expires_at' && typeof value === 'number' && value > wall) ahead.push(`${run.id} ${key} ${value} > wall ${wall}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ahead).toEqual([]);
  });

  it('runs created over HTTP progress without anyone advancing time', async () => {
    sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 2, runScript: 'every-tool' });
    const thread = sim.createThread();
    const created = await call<ApiRun>(sim, `/threads/${thread.id}/runs`, { json: { assistant_id: 'asst_1' } });
    // About 15 scenario seconds = 30 ms; poll (as a client would) rather than guess a sleep on a busy machine.
    let later = await call<ApiRun>(sim, `/threads/${thread.id}/runs/${created.body.id}`);
    for (const deadline = Date.now() + 10_000; later.body.status !== 'completed' && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      later = await call<ApiRun>(sim, `/threads/${thread.id}/runs/${created.body.id}`);
    }
    expect(later.body.status).toBe('completed');
    expect(later.headers.get('openai-poll-after-ms')).toBe('2');
  });

  it('the Date header is on the simulator\'s clock: 5 minutes behind with baseEpochSeconds 300 s back; none with dateHeader false', async () => {
    const wall = Math.floor(Date.now() / 1000);
    sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 1000, baseEpochSeconds: wall - 300 });
    const thread = sim.createThread();
    const answer = await call(sim, `/threads/${thread.id}/runs`);
    const date = Date.parse(answer.headers.get('date') ?? '') / 1000;
    expect(date).toBeGreaterThanOrEqual(wall - 300);
    expect(date).toBeLessThanOrEqual(wall - 300 + 5);
    await sim.close();
    sim = await createSimulator({ clock: 'real', dateHeader: false });
    const bare = await call(sim, `/threads/${sim.createThread().id}/runs`);
    expect(bare.headers.get('date')).toBeNull();
  });

  it('close() ends open streams and is idempotent', async () => {
    sim = await createSimulator({ clock: 'real', timeScaleMillisPerSecond: 1000, runScript: 'cancelled' });
    const thread = sim.createThread();
    const res = await fetch(`${sim.url}/threads/${thread.id}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assistant_id: 'asst_1', stream: true }),
    });
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain('event: thread.run.created');
    await sim.close();
    await sim.close();
    // The stream is cut, not left hanging: reading ends (with an error, as a dropped connection does).
    await expect(reader?.read()).rejects.toThrow();
  });
});
