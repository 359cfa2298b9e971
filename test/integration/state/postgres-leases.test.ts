/**
 * Leases on a real PostgreSQL, with members (stores) in this process on one database: disjoint fair
 * shares, takeover after a member stops renewing (its connection partitioned by a paused proxy),
 * drain, rebalancing on join and leave, shared done marks, registration on any member, owner
 * listing, fencing of a write made under a lost lease, and the counters.
 *
 * Every test checks the fleet's safety rule all along: no key is ever held by two members at once,
 * by the members' own accounts (the events they report, in the order they report them).
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LeaseLossReason, LeasingStateStore } from '../../../src/state/leasing.js';
import { createPostgresStateStore, type PostgresStateStoreOptions } from '../../../src/state/postgres-store.js';
import { canRunPostgresTests, testDatabase, waitFor, type TestDatabase } from '../../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';

// Short, so takeovers happen within the test, and long enough that a slow round on a busy machine loses nothing.
const LEASE_MILLIS = 3_000;

interface Member {
  name: string;
  store: LeasingStateStore;
  held: Set<string>;
  losses: Array<{ keys: string[]; reason: LeaseLossReason }>;
  warnings: string[];
}

describe.runIf(canRunPostgresTests(import.meta.url))('PostgreSQL leases', () => {
  let db: TestDatabase;
  let schemas = 0;
  let schema = '';
  let members: Member[] = [];
  let proxies: TcpProxy[] = [];
  /** Key → the member holding it, by the members' own events. */
  let holders = new Map<string, string>();
  let violations: string[] = [];

  beforeAll(async () => {
    db = await testDatabase('leases');
  });
  afterAll(async () => {
    await db?.destroy();
  });
  afterEach(async () => {
    for (const proxy of proxies) proxy.resume();
    await Promise.allSettled(members.map((m) => m.store.close()));
    await Promise.allSettled(proxies.map((p) => p.close()));
    for (const m of members) expect(m.warnings.filter((w) => db.leaks(w))).toEqual([]);
    expect(violations).toEqual([]);
    members = [];
    proxies = [];
    holders = new Map();
    violations = [];
  });

  const newSchema = () => {
    schema = `fleet_${++schemas}`;
  };

  /** A loaded store (not joined yet). */
  async function store(name: string, extra: Partial<PostgresStateStoreOptions> = {}): Promise<Member> {
    const member: Member = { name, store: undefined as unknown as LeasingStateStore, held: new Set(), losses: [], warnings: [] };
    member.store = createPostgresStateStore({ url: db.url, schema, memberId: name, leaseMillis: LEASE_MILLIS, connectTimeoutMillis: 1_000, onWarning: (w) => member.warnings.push(w), ...extra });
    members.push(member);
    await member.store.load();
    return member;
  }

  async function join(member: Member): Promise<Member> {
    await member.store.join({
      onGained: (keys) => {
        for (const key of keys) {
          const other = holders.get(key);
          if (other !== undefined && other !== member.name) violations.push(`${member.name} gained ${key} while ${other} held it`);
          holders.set(key, member.name);
          member.held.add(key);
        }
      },
      onLost: (keys, reason) => {
        member.losses.push({ keys: [...keys], reason });
        for (const key of keys) {
          if (holders.get(key) === member.name) holders.delete(key);
          member.held.delete(key);
        }
      },
      onWarning: (w) => member.warnings.push(w),
    });
    return member;
  }

  const member = async (name: string, extra: Partial<PostgresStateStoreOptions> = {}) => join(await store(name, extra));

  /** Registers `threads` threads and `singleRuns` runs on threads nobody watches: one key each. */
  async function register(via: LeasingStateStore, threads: number, singleRuns = 0): Promise<string[]> {
    const keys: string[] = [];
    for (let i = 0; i < threads; i++) {
      const threadId = `thread_${String(i).padStart(2, '0')}`;
      expect(await via.registerThread({ threadId, since: 0, lastActivityAt: 1 })).toBe('added');
      keys.push(threadId);
    }
    for (let i = 0; i < singleRuns; i++) {
      const threadId = `thread_r${i}`;
      expect(await via.registerRun({ threadId, runId: `run_r${i}`, exportedStepIds: [] })).toBe('added');
      keys.push(threadId);
    }
    return keys;
  }

  /** True once the members hold disjoint sets covering `keys`, each of the given size. */
  function sharesAre(group: Member[], keys: string[], sizes: number[]): boolean {
    const all = group.flatMap((m) => [...m.held]);
    return (
      group.every((m, i) => m.held.size === sizes[i] && m.store.heldKeys().length === sizes[i]) &&
      new Set(all).size === all.length &&
      [...all].sort().join() === [...keys].sort().join()
    );
  }

  /** The owners the database lists, per key. */
  async function listedOwners(via: LeasingStateStore): Promise<Map<string, string | undefined>> {
    const listing = await via.listWatched();
    return new Map([...listing.threads.map((t) => [t.threadId, t.owner] as const), ...listing.runs.map((r) => [r.threadId, r.owner] as const)]);
  }

  it('members claim disjoint fair shares that cover every key, rebalancing as each joins; the listing shows the owners', async () => {
    newSchema();
    const a = await member('member-a');
    const keys = await register(a.store, 10, 2);
    a.store.requestRound();
    await waitFor('a alone holds all 12', () => sharesAre([a], keys, [12]));
    const b = await member('member-b');
    await waitFor('a and b hold 6 each', () => sharesAre([a, b], keys, [6, 6]));
    const c = await member('member-c');
    await waitFor('4 each', () => sharesAre([a, b, c], keys, [4, 4, 4]));
    expect(a.losses.map((l) => l.reason)).toEqual(['rebalanced', 'rebalanced']);
    expect(a.losses.flatMap((l) => l.keys)).toHaveLength(8);

    const owners = await listedOwners(c.store);
    for (const m of [a, b, c]) for (const key of m.held) expect(owners.get(key)).toBe(m.name);
    expect([...owners.keys()].sort()).toEqual([...keys].sort());
    expect(c.store.leaseStats()).toMatchObject({ held: 4, members: 3, share: 4, takeovers: 0, renewalsFailed: 0, lost: 0 });
  });

  it('a member that stops renewing lets go first, and the others take its leases once they expire; it gets its share back on return', async () => {
    newSchema();
    const proxy = await startTcpProxy(new URL(db.url).port === '' ? 5432 : Number(new URL(db.url).port), new URL(db.url).hostname);
    proxies.push(proxy);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const a = await member('member-a');
    const b = await member('member-b');
    const c = await member('member-c', { url: viaProxy.href });
    const keys = await register(a.store, 12);
    a.store.requestRound();
    await waitFor('4 each', () => sharesAre([a, b, c], keys, [4, 4, 4]));
    const cKeys = [...c.held];

    proxy.pause(); // c can no longer reach the database, nor tell anyone
    await waitFor('a and b hold 6 each', () => sharesAre([a, b], keys, [6, 6]));
    // c let go by its own clock before the others could claim (else `violations` would say so).
    expect(c.losses).toEqual([{ keys: cKeys, reason: 'expired' }]);
    expect(c.held.size).toBe(0);
    expect(a.store.leaseStats().takeovers + b.store.leaseStats().takeovers).toBe(4);
    expect(c.store.leaseStats().renewalsFailed).toBeGreaterThanOrEqual(1);
    expect(c.store.leaseStats().lost).toBe(4);
    expect(c.warnings.some((w) => /lease round failed/.test(w))).toBe(true);

    proxy.resume(); // back: it rejoins, and the others make room
    await waitFor('4 each again', () => sharesAre([a, b, c], keys, [4, 4, 4]), 30_000);
    expect(c.warnings.some((w) => /lease rounds succeed again/.test(w))).toBe(true);
  });

  it('a draining member releases every lease at once, and the others take them without waiting for expiry', async () => {
    newSchema();
    const a = await member('member-a');
    const b = await member('member-b');
    const c = await member('member-c');
    const keys = await register(a.store, 12);
    a.store.requestRound();
    await waitFor('4 each', () => sharesAre([a, b, c], keys, [4, 4, 4]));
    const cKeys = [...c.held];

    await c.store.leave();
    expect(c.losses).toEqual([{ keys: cKeys, reason: 'leaving' }]);
    expect(c.store.heldKeys()).toEqual([]);
    // Released in the database as leave() resolved: nobody, or already a or b, owns c's keys.
    const owners = await listedOwners(a.store);
    for (const key of cKeys) expect(owners.get(key)).not.toBe('member-c');
    // Well before any lease of c's could have expired, a and b (woken by the notification) share them.
    await waitFor('a and b hold 6 each', () => sharesAre([a, b], keys, [6, 6]));
    expect(a.store.leaseStats().takeovers + b.store.leaseStats().takeovers).toBe(0); // free, not taken over
    await c.store.leave(); // idempotent
  });

  it('with long leases, joins and drains are acted on at once (notifications), not at the next renewal', async () => {
    newSchema();
    // Renewals every 40 s: only a notification can make the others move within the waits below.
    const long = { leaseMillis: 120_000 };
    const a = await member('member-a', long);
    const keys = await register(a.store, 6);
    a.store.requestRound();
    await waitFor('a holds all 6', () => sharesAre([a], keys, [6]));
    const b = await member('member-b', long);
    await waitFor('3 each after b joined', () => sharesAre([a, b], keys, [3, 3]), 15_000);
    await b.store.leave();
    await waitFor('a holds all 6 after b left', () => sharesAre([a], keys, [6]), 15_000);
  });

  it('a closing member leaves the fleet too', async () => {
    newSchema();
    const a = await member('member-a');
    const b = await member('member-b');
    const keys = await register(a.store, 4);
    a.store.requestRound();
    await waitFor('2 each', () => sharesAre([a, b], keys, [2, 2]));
    await b.store.close();
    expect(b.losses.map((l) => l.reason)).toEqual(['leaving']);
    await waitFor('a holds all 4', () => sharesAre([a], keys, [4]));
  });

  it('registration on any member adds to the shared set without overwriting what the owner keeps', async () => {
    newSchema();
    const a = await member('member-a');
    const b = await store('member-b'); // registration needs no membership
    expect(await b.store.registerThread({ threadId: 'thread_1', since: 10, lastActivityAt: 20 })).toBe('added');
    a.store.requestRound();
    await waitFor('a holds thread_1', () => a.held.has('thread_1'));
    await a.store.putThread({ threadId: 'thread_1', since: 10, cursor: 'run_9', cursorCreatedAt: 20, lastActivityAt: 30 });
    expect(await b.store.registerThread({ threadId: 'thread_1', since: 99, lastActivityAt: 99 })).toBe('already');
    expect((await a.store.loadKeys(['thread_1'])).threads).toEqual([{ threadId: 'thread_1', since: 10, cursor: 'run_9', cursorCreatedAt: 20, lastActivityAt: 30 }]);

    const tp1 = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const tp2 = '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01';
    expect(await b.store.registerRun({ threadId: 'thread_1', runId: 'run_1', exportedStepIds: [] })).toBe('added');
    await a.store.markStepsExported('run_1', ['step_1']);
    expect(await b.store.registerRun({ threadId: 'thread_1', runId: 'run_1', exportedStepIds: [] })).toBe('already');
    expect(await b.store.registerRun({ threadId: 'thread_1', runId: 'run_1', traceparent: tp1, exportedStepIds: [] })).toBe('updated');
    expect(await b.store.registerRun({ threadId: 'thread_1', runId: 'run_1', traceparent: tp1, exportedStepIds: [] })).toBe('already');
    expect(await b.store.registerRun({ threadId: 'thread_1', runId: 'run_1', traceparent: tp2, exportedStepIds: [] })).toBe('updated');
    expect((await a.store.loadKeys(['thread_1'])).runs).toEqual([{ threadId: 'thread_1', runId: 'run_1', traceparent: tp2, exportedStepIds: ['step_1'] }]);
    await expect(b.store.registerThread({ threadId: '', since: 0, lastActivityAt: 0 })).rejects.toThrow(TypeError);
  });

  it('done marks are shared: a run exported by one member is known done by all', async () => {
    newSchema();
    const a = await member('member-a');
    const b = await member('member-b');
    await a.store.registerRun({ threadId: 'thread_1', runId: 'run_1', exportedStepIds: [] });
    await a.store.markRunDone('run_1', 1_000);
    expect(await b.store.doneAmong(['run_0', 'run_1', 'run_2'])).toEqual(new Set(['run_1']));
    expect(await b.store.registerRun({ threadId: 'thread_1', runId: 'run_1', exportedStepIds: [] })).toBe('exported');
    expect(await b.store.load()).toMatchObject({ runs: [], done: { run_1: 1_000 } });
    // Whoever exported it too (after a lost lease: identical spans) marks it again: still one done run.
    await b.store.markRunDone('run_1', 1_001);
    expect((await a.store.load()).done).toEqual({ run_1: 1_001 });
  });

  it('a write made under a lease another member has taken is skipped and counted; the owner\'s state stays', async () => {
    newSchema();
    const a = await member('member-a');
    await register(a.store, 1);
    a.store.requestRound();
    await waitFor('a holds thread_00', () => a.held.has('thread_00'));
    // Another member takes the lease while a does not know yet (a paused process, say).
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`UPDATE ${schema}.leases SET owner = 'member-z', epoch = epoch + 1, expires_at = now() + interval '1 hour' WHERE thread_id = 'thread_00'`);
      await admin.query(`UPDATE ${schema}.threads SET run_cursor = 'run_from_z' WHERE thread_id = 'thread_00'`);
    } finally {
      await admin.end();
    }
    await a.store.putThread({ threadId: 'thread_00', since: 0, cursor: 'run_stale', lastActivityAt: 5 });
    await a.store.putRun({ threadId: 'thread_00', runId: 'run_stale', exportedStepIds: [] });
    await a.store.markStepsExported('run_elsewhere', ['step_1']); // facts are never fenced
    expect(a.store.leaseStats().staleWrites).toBe(2);
    expect(await a.store.load()).toMatchObject({ threads: [{ threadId: 'thread_00', cursor: 'run_from_z' }], runs: [] });
    // Its next round tells a the lease is gone to another member.
    await waitFor('a lost thread_00', () => a.losses.some((l) => l.reason === 'taken' && l.keys.includes('thread_00')));
    holders.delete('thread_00'); // member-z is not one of ours
    await a.store.putThread({ threadId: 'thread_00', since: 0, cursor: 'run_still_stale', lastActivityAt: 6 });
    expect(a.store.leaseStats().staleWrites).toBe(3); // still fenced: a held it once
  });

  it('a key with nothing left under it is gone: its holder is told, and the fair share shrinks', async () => {
    newSchema();
    const a = await member('member-a');
    const keys = await register(a.store, 3);
    a.store.requestRound();
    await waitFor('a holds 3', () => sharesAre([a], keys, [3]));
    await a.store.removeThread('thread_01');
    a.store.requestRound();
    await waitFor('thread_01 gone', () => a.losses.some((l) => l.reason === 'gone' && l.keys.join() === 'thread_01'));
    await waitFor('share of 2', () => a.store.leaseStats().share === 2);
    expect(a.store.heldKeys().sort()).toEqual(['thread_00', 'thread_02']);
  });

  it('refuses a second running member with the same id', async () => {
    newSchema();
    await member('member-a');
    const twin = await store('member-a');
    await expect(twin.store.join({})).rejects.toThrow(/member id "member-a" is in use by another running member/);
  });
});
