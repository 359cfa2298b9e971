/**
 * The poller as a fleet member (`leases`, src/sources/fleet-membership.ts) on a fake leasing store
 * whose lease events the test fires: it follows only what it holds, stops the moment a lease is
 * lost (even with a listing in flight: nothing of it is written or exported afterwards), skips runs
 * another member exported (the shared done marks), and registers into the shared set rather than
 * following at once. The real store and a real fleet: test/integration/state/postgres-leases.test.ts
 * and test/e2e/watch/fleet.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LeaseEvents, LeaseStats, LeasingStateStore, WatchListing } from '../../../src/state/leasing.js';
import { createMemoryStateStore } from '../../../src/state/memory-store.js';
import type { StateSnapshot, WatchedRun, WatchedThread } from '../../../src/state/store.js';
import { advance, POLL, rig, settleNow, START, stopRigs } from './poller-rig.js';

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});

afterEach(async () => {
  await stopRigs();
  vi.useRealTimers();
});

/** The shared set (what `loadKeys` reads), the shared done marks, and the lease events, under the test's control. */
class FakeFleetStore {
  events: LeaseEvents = {};
  readonly held = new Set<string>();
  readonly sharedDone = new Set<string>();
  readonly registered: string[] = [];
  rounds = 0;
  /** Join attempts refused as "in use" before one succeeds. */
  refuseJoins = 0;
  joins = 0;
  constructor(readonly shared: StateSnapshot) {}

  gain(...keys: string[]): void {
    for (const key of keys) this.held.add(key);
    this.events.onGained?.(keys);
  }

  lose(...keys: string[]): void {
    for (const key of keys) this.held.delete(key);
    this.events.onLost?.(keys, 'taken');
  }

  readonly store: LeasingStateStore = {
    ...createMemoryStateStore(),
    memberId: 'member-1',
    leaseMillis: 4_000,
    join: (events) => {
      this.joins++;
      if (this.joins <= this.refuseJoins) return Promise.reject(new Error('member id "member-1" is in use by another running member: give each sidecar its own member id'));
      this.events = events;
      return Promise.resolve();
    },
    leave: () => Promise.resolve(),
    holds: (key) => this.held.has(key),
    heldKeys: () => [...this.held],
    requestRound: () => {
      this.rounds++;
    },
    leaseStats: (): LeaseStats => ({ held: this.held.size, members: 1, share: 1, takeovers: 0, renewalsFailed: 0, lost: 0, staleWrites: 0, listening: true }),
    loadKeys: (keys) =>
      Promise.resolve({
        threads: this.shared.threads.filter((t) => keys.includes(t.threadId)),
        runs: this.shared.runs.filter((r) => keys.includes(r.threadId)),
      }),
    doneAmong: (runIds) => Promise.resolve(new Set(runIds.filter((id) => this.sharedDone.has(id)))),
    registerThread: (thread: WatchedThread) => {
      this.registered.push(thread.threadId);
      return Promise.resolve('added' as const);
    },
    registerRun: (run: WatchedRun) => {
      this.registered.push(run.runId);
      return Promise.resolve('added' as const);
    },
    listWatched: (): Promise<WatchListing> => Promise.resolve({ threads: this.shared.threads.map((t) => ({ ...t, owner: 'member-2' })), runs: [] }),
  };
}

const thread = (threadId: string): WatchedThread => ({ threadId, since: 0, lastActivityAt: START });

async function fleetRig(threads: string[], refuseJoins = 0) {
  const shared: StateSnapshot = { threads: threads.map(thread), runs: [], done: {}, setAsideSpans: 0 };
  const fleet = new FakeFleetStore(shared);
  fleet.refuseJoins = refuseJoins;
  const r = await rig({ snapshot: shared, leases: fleet.store });
  return { ...r, fleet };
}

describe('Poller in a fleet', () => {
  it('follows only the threads it holds a lease on, and stops at once when a lease is lost', async () => {
    const { api, poller, fleet } = await fleetRig(['thread_a', 'thread_b']);
    await advance(POLL * 2);
    expect(api.count('listRuns')).toBe(0); // nothing held: nothing polled, though the state holds both

    fleet.gain('thread_a');
    await advance(POLL * 3);
    expect(api.count('listRuns', 'thread_a')).toBeGreaterThanOrEqual(3);
    expect(api.count('listRuns', 'thread_b')).toBe(0);
    expect(poller.stats().threads).toBe(1);

    fleet.lose('thread_a');
    expect(poller.stats().threads).toBe(0); // synchronously, inside the lease event
    const before = api.count('listRuns', 'thread_a');
    fleet.gain('thread_b');
    await advance(POLL * 3);
    expect(api.count('listRuns', 'thread_a')).toBe(before);
    expect(api.count('listRuns', 'thread_b')).toBeGreaterThanOrEqual(3);
  });

  it('a lease lost while its listing is in flight: nothing found by it is written, followed or exported', async () => {
    const { api, poller, fleet, ops, delivery } = await fleetRig(['thread_a']);
    api.addRun('thread_a', 'run_1', { status: 'completed', completed_at: api.nowSeconds() });
    const hold = api.holdNext('listRuns', 'thread_a');
    fleet.gain('thread_a');
    await settleNow();
    expect(hold.started).toBe(true);
    fleet.lose('thread_a');
    const opsBefore = ops.length;
    hold.release();
    await advance(POLL * 3);
    expect(ops.slice(opsBefore)).toEqual([]);
    expect(delivery.jobs).toEqual([]);
    expect(poller.stats()).toMatchObject({ threads: 0, runs: 0 });
  });

  it('skips a run another member exported (the shared done marks), and exports the others', async () => {
    const { api, fleet, delivery } = await fleetRig(['thread_a']);
    api.addRun('thread_a', 'run_theirs', { status: 'completed', completed_at: api.nowSeconds() });
    api.addRun('thread_a', 'run_ours', { status: 'completed', completed_at: api.nowSeconds() });
    fleet.sharedDone.add('run_theirs');
    fleet.gain('thread_a');
    await advance(POLL);
    expect(delivery.runIds()).toEqual(['run_ours']);
    expect(api.count('listRunSteps', 'run_theirs')).toBe(0);
  });

  it('a thread taken over keeps its cursor run\'s creation time: its cursor run deleted, runs older than it stay history', async () => {
    const t = Math.floor(START / 1000);
    const shared: StateSnapshot = {
      // As the previous owner wrote it: registered a week ago, its cursor run a day old.
      threads: [{ threadId: 'thread_a', since: t - 7 * 86_400, cursor: 'run_cursor', cursorCreatedAt: t - 86_400, lastActivityAt: START - 3_600_000 }],
      runs: [],
      done: {},
      setAsideSpans: 0,
    };
    const fleet = new FakeFleetStore(shared);
    const { api, delivery, state } = await rig({ snapshot: shared, leases: fleet.store });
    api.addRun('thread_a', 'run_old', { created_at: t - 2 * 86_400, status: 'completed', completed_at: t - 2 * 86_400 + 5 });
    api.addRun('thread_a', 'run_new', { created_at: t - 10, status: 'completed', completed_at: t - 5 }); // the cursor run is gone
    fleet.gain('thread_a');
    await advance(POLL);
    await advance(POLL);
    expect(delivery.runIds()).toEqual(['run_new']);
    expect((await state()).threads).toEqual([expect.objectContaining({ cursor: 'run_new', cursorCreatedAt: t - 10 })]);
  });

  it('registers into the shared set and asks for a round; follows only once the lease is gained', async () => {
    const { api, poller, fleet } = await fleetRig([]);
    expect(await poller.watchThread('thread_new')).toBe('added');
    expect(fleet.registered).toEqual(['thread_new']);
    expect(fleet.rounds).toBe(1);
    await advance(POLL);
    expect(api.count('listRuns')).toBe(0);
    fleet.shared.threads.push(thread('thread_new'));
    fleet.gain('thread_new');
    await advance(POLL);
    expect(api.count('listRuns', 'thread_new')).toBeGreaterThanOrEqual(1);
  });

  it('a member id still in use (its previous life, not yet expired) is waited for, up to one lease; then joining fails', async () => {
    const started = fleetRig(['thread_a'], 3);
    await advance(3_000);
    const { fleet, lines } = await started;
    expect(fleet.joins).toBe(4);
    expect(lines.filter((l) => l.message.startsWith('member id in use'))).toHaveLength(1);

    // Another member really has the id: past one lease (4 s) and a margin, the start fails.
    const failing = fleetRig([], 100).catch((error: Error) => error);
    await advance(8_000);
    expect(String(await failing)).toContain('is in use by another running member');
  });

  it('DELETE of a thread another member follows: a NotOwnerError naming the owner', async () => {
    const { poller } = await fleetRig(['thread_a']);
    await expect(poller.unwatchThread('thread_a')).rejects.toThrow('thread thread_a is followed by fleet member member-2: send the DELETE to that member');
    expect(await poller.unwatchThread('thread_unknown')).toBe(false);
  });
});
