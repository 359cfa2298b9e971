/**
 * The file store: the shared contract, then what only a file has: reopening, damaged journals,
 * compaction, group commit, write failures, bad snapshots and the lock. A "crash" here is a copy of
 * the files taken while the store is open: exactly what `kill -9` at that moment would leave
 * (test/e2e/state-crash.test.ts does the real thing).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fsp from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFileStateStore, type FileStateStoreOptions } from '../../../src/state/file-store.js';
import type { FileHandle, StateFileSystem } from '../../../src/state/file-system.js';
import type { StateStore, WatchedRun } from '../../../src/state/store.js';
import { callStore, randomCalls, referenceSnapshot } from '../../support/state-ops.js';
import { describeStateStoreContract, everyKindOfCall } from './store-contract.js';

let root: string;
let cases = 0;
beforeAll(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'assistants-otel-state-'));
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** A state path in a directory that does not exist yet: the store creates it. */
const freshPath = () => join(root, `case-${++cases}`, 'nested', 'state.json');

describeStateStoreContract('file store', () => createFileStateStore(freshPath()));

const run = (runId: string): WatchedRun => ({ threadId: 'thread_a', runId, exportedStepIds: [] });

/** Copies the files of an open store, as `kill -9` would leave them, and returns the copy's path. */
async function crashCopy(path: string): Promise<string> {
  const copy = freshPath();
  await fsp.mkdir(dirname(copy), { recursive: true });
  for (const suffix of ['', '.journal', '.lock']) {
    await fsp.copyFile(path + suffix, copy + suffix).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  return copy;
}

interface HandleSpy {
  before?: (method: string, args: unknown[]) => void;
  after?: (method: string, args: unknown[]) => void;
}

/** A file handle whose method calls are reported (and may be failed by throwing from `before`). */
function spyHandle(handle: FileHandle, spy: HandleSpy): FileHandle {
  return new Proxy(handle, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      const method = String(key);
      return (...args: unknown[]) => {
        spy.before?.(method, args);
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then((resolved: unknown) => {
          spy.after?.(method, args);
          return resolved;
        });
      };
    },
  });
}

/** File-system options whose journal handle is spied on. */
function spyOnJournal(spy: HandleSpy): Partial<StateFileSystem> {
  return {
    open: async (file, flags, mode) => {
      const handle = await fsp.open(file, flags, mode);
      return String(file).endsWith('.journal') ? spyHandle(handle, spy) : handle;
    },
  };
}

describe('file store', () => {
  const opened: StateStore[] = [];
  const warnings: string[] = [];
  const open = async (path: string, options: FileStateStoreOptions = {}) => {
    const store = createFileStateStore(path, { onWarning: (message) => warnings.push(message), ...options });
    opened.push(store);
    return { store, state: await store.load() };
  };
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((store) => store.close()));
    warnings.length = 0;
  });

  describe('persistence', () => {
    it('reopens after close with the same state, from a versioned snapshot and an empty journal', async () => {
      const path = freshPath();
      const calls = randomCalls(11, 400);
      const { store } = await open(path);
      for (const call of calls) await callStore(store, call);
      await store.close();
      expect(JSON.parse(await fsp.readFile(path, 'utf8'))).toMatchObject({ version: 1, seq: 400 });
      expect((await fsp.stat(`${path}.journal`)).size).toBe(0);
      await expect(fsp.stat(`${path}.lock`)).rejects.toThrow(/ENOENT/);
      expect((await open(path)).state).toEqual(referenceSnapshot(calls));
      expect(warnings).toEqual([]);
    });

    it('reopens after a crash with everything acknowledged, from the journal', async () => {
      const path = freshPath();
      const calls = randomCalls(12, 400);
      const { store } = await open(path);
      for (let i = 0; i < calls.length; i += 7) await Promise.all(calls.slice(i, i + 7).map((call) => callStore(store, call)));
      const copy = await crashCopy(path);
      expect((await open(copy)).state).toEqual(referenceSnapshot(calls));
      // The copied lock names this process, which does not hold it: a restarted container reuses pids.
      expect(warnings).toEqual([expect.stringMatching(/breaking the stale lock .*our own pid/)]);
    });

    it('writes one checksummed JSON line per mutation', async () => {
      const path = freshPath();
      const { store } = await open(path);
      await store.putRun({ ...run('run_"1"\n'), exportedStepIds: ['step_ü'] });
      const text = await fsp.readFile(`${path}.journal`, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      const [line, ...rest] = text.slice(0, -1).split('\n');
      expect(rest).toEqual([]);
      const [, sum, json] = /^([0-9a-f]{8}) (.*)$/.exec(line ?? '') ?? [];
      expect(createHash('sha256').update(json ?? '', 'utf8').digest('hex').slice(0, 8)).toBe(sum);
      expect(JSON.parse(json ?? '')).toEqual({ seq: 1, op: 'putRun', run: { threadId: 'thread_a', runId: 'run_"1"\n', exportedStepIds: ['step_ü'] } });
    });

    it('creates the parent directories', async () => {
      const path = freshPath();
      await expect(fsp.stat(dirname(path))).rejects.toThrow(/ENOENT/);
      await open(path);
      expect((await fsp.stat(path)).isFile()).toBe(true);
    });
  });

  describe('damaged journals', () => {
    /** Writes every kind of call, one journal line each, and returns a crash copy of the files. */
    const crashedAfterEveryKindOfCall = async () => {
      const path = freshPath();
      const { store } = await open(path);
      for (const call of everyKindOfCall) await callStore(store, call);
      const copy = await crashCopy(path);
      const lines = (await fsp.readFile(`${copy}.journal`, 'utf8')).split('\n').slice(0, -1);
      expect(lines).toHaveLength(everyKindOfCall.length);
      return { copy, lines };
    };

    it('ignores a torn last line with a warning and keeps everything before it', async () => {
      const { copy, lines } = await crashedAfterEveryKindOfCall();
      const whole = lines.map((line) => `${line}\n`).join('');
      await fsp.writeFile(`${copy}.journal`, whole.slice(0, whole.length - Math.floor((lines.at(-1)?.length ?? 0) / 2)));
      warnings.length = 0;
      const { store, state } = await open(copy);
      expect(state).toEqual(referenceSnapshot(everyKindOfCall.slice(0, -1)));
      expect(warnings.filter((w) => w.includes('journal'))).toEqual([expect.stringMatching(/\.journal: ignored a torn last line \(line 12\)/)]);
      // Load compacted: the next line is not glued to the torn one.
      await store.putRun(run('run_after'));
      expect((await open(await crashCopy(copy))).state.runs.map((r) => r.runId)).toContain('run_after');
    });

    it('keeps a last line that lacks only its newline: it was written whole', async () => {
      const { copy, lines } = await crashedAfterEveryKindOfCall();
      await fsp.writeFile(`${copy}.journal`, lines.join('\n'));
      warnings.length = 0;
      const { store, state } = await open(copy);
      expect(state).toEqual(referenceSnapshot(everyKindOfCall));
      expect(warnings.filter((w) => w.includes('journal'))).toEqual([]);
      await store.putRun(run('run_after'));
      expect((await open(await crashCopy(copy))).state.runs.map((r) => r.runId)).toContain('run_after');
    });

    it('ignores a line whose checksum does not match, and applies the lines after it', async () => {
      const { copy, lines } = await crashedAfterEveryKindOfCall();
      expect(lines[1]).toContain('"thread_b"');
      lines[1] = (lines[1] ?? '').replace('thread_b', 'thread_c');
      await fsp.writeFile(`${copy}.journal`, lines.map((line) => `${line}\n`).join(''));
      warnings.length = 0;
      const { state } = await open(copy);
      expect(state).toEqual(referenceSnapshot(everyKindOfCall.filter((_, index) => index !== 1)));
      expect(warnings.filter((w) => w.includes('journal'))).toEqual([expect.stringMatching(/ignored 1 damaged line \(2\)/)]);
    });

    it('refuses an intact line it does not understand, naming the file and line', async () => {
      const path = freshPath();
      await fsp.mkdir(dirname(path), { recursive: true });
      const json = JSON.stringify({ seq: 1, op: 'renameRun', runId: 'run_1' });
      await fsp.writeFile(`${path}.journal`, `${createHash('sha256').update(json).digest('hex').slice(0, 8)} ${json}\n`);
      await expect(open(path)).rejects.toThrow(/state journal .*state\.json\.journal line 1 is intact but not an op/);
    });

    it('skips journal lines the snapshot already holds (a crash between rename and truncation)', async () => {
      const path = freshPath();
      const calls = randomCalls(13, 200);
      const { store } = await open(path);
      for (const call of calls) await callStore(store, call);
      const journal = await fsp.readFile(`${path}.journal`);
      await store.close(); // compacts: the snapshot now holds every line of `journal`
      await fsp.writeFile(`${path}.journal`, journal);
      expect((await open(path)).state).toEqual(referenceSnapshot(calls));
      expect((await fsp.stat(`${path}.journal`)).size).toBe(0);
    });

    it('ignores and removes a half-written snapshot left in PATH.tmp', async () => {
      const path = freshPath();
      const { store } = await open(path);
      await store.putRun(run('run_1'));
      const copy = await crashCopy(path);
      await fsp.writeFile(`${copy}.tmp`, '{"version":1,"seq":');
      expect((await open(copy)).state.runs).toEqual([run('run_1')]);
      await expect(fsp.stat(`${copy}.tmp`)).rejects.toThrow(/ENOENT/);
    });
  });

  describe('compaction', () => {
    it('keeps everything while the journal is compacted again and again', async () => {
      const path = freshPath();
      let renames = 0;
      const fs: Partial<StateFileSystem> = {
        rename: async (from, to) => {
          renames++;
          await fsp.rename(from, to);
        },
      };
      const calls = randomCalls(14, 600);
      const { store } = await open(path, { compactAfterJournalBytes: 1024, fs });
      for (let i = 0; i < calls.length; i += 5) await Promise.all(calls.slice(i, i + 5).map((call) => callStore(store, call)));
      expect(renames).toBeGreaterThan(10);
      const snapshotBytes = (await fsp.stat(path)).size;
      expect((await fsp.stat(`${path}.journal`)).size).toBeLessThan(Math.max(1024, snapshotBytes) + 1024);
      expect((await open(await crashCopy(path))).state).toEqual(referenceSnapshot(calls));
      await store.close();
      expect((await open(path)).state).toEqual(referenceSnapshot(calls));
    });
  });

  describe('group commit and durability', () => {
    it('writes 1,000 concurrent mutations with one write and one fdatasync', async () => {
      const path = freshPath();
      const calls = { write: 0, datasync: 0 };
      const { store } = await open(path, {
        fs: spyOnJournal({
          before: (method) => {
            if (method === 'write' || method === 'datasync') calls[method]++;
          },
        }),
      });
      await Promise.all(Array.from({ length: 1000 }, (_, i) => store.putRun(run(`run_${i}`))));
      expect(calls).toEqual({ write: 1, datasync: 1 });
      expect((await open(await crashCopy(path))).state.runs).toHaveLength(1000);
    });

    it('groups mutations that arrive while a write is in flight', async () => {
      const path = freshPath();
      let datasyncs = 0;
      const { store } = await open(path, { fs: spyOnJournal({ before: (method) => void (method === 'datasync' && datasyncs++) }) });
      // 100 callers, each making 10 mutations one after the other: 1,000 mutations.
      await Promise.all(
        Array.from({ length: 100 }, async (_, caller) => {
          for (let i = 0; i < 10; i++) await store.putRun(run(`run_${caller}_${i}`));
        }),
      );
      expect(datasyncs).toBeLessThanOrEqual(25);
      expect((await open(await crashCopy(path))).state.runs).toHaveLength(1000);
    });

    it('resolves a mutation only after its line was written and fdatasync-ed', async () => {
      const path = freshPath();
      let written = '';
      let synced = '';
      const { store } = await open(path, {
        fs: spyOnJournal({
          after: (method, args) => {
            if (method === 'write') {
              const [buffer, offset, length] = args as [Buffer, number, number];
              written += buffer.subarray(offset, offset + length).toString('utf8');
            }
            if (method === 'datasync') synced = written;
          },
        }),
      });
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          await store.putRun(run(`run_${i}`));
          expect(synced).toContain(`"runId":"run_${i}"`);
        }),
      );
    });

    it('after a failed fdatasync, rejects that mutation and every later one, and close reports it', async () => {
      const path = freshPath();
      let fail = false;
      const { store } = await open(path, {
        fs: spyOnJournal({
          before: (method) => {
            if (method === 'datasync' && fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          },
        }),
      });
      await store.putRun(run('run_1'));
      fail = true;
      await expect(store.putRun(run('run_2'))).rejects.toThrow(/\.journal: a write failed.*EIO/);
      fail = false;
      await expect(store.putRun(run('run_3'))).rejects.toThrow(/a write failed/);
      await expect(store.close()).rejects.toThrow(/a write failed/);
      // The lock was released, and what was acknowledged is there.
      expect((await open(path)).state.runs.map((r) => r.runId)).toContain('run_1');
    });
  });

  describe('snapshots it cannot read', () => {
    const withSnapshot = async (content: string) => {
      const path = freshPath();
      await fsp.mkdir(dirname(path), { recursive: true });
      await fsp.writeFile(path, content);
      return path;
    };

    it('refuses a snapshot that is not JSON, naming the file, and releases the lock', async () => {
      const path = await withSnapshot('{"version":1,"seq":3,"thr');
      await expect(open(path)).rejects.toThrow(/^state file .*state\.json is not valid JSON .*Refusing to start from an empty state/);
      await expect(fsp.stat(`${path}.lock`)).rejects.toThrow(/ENOENT/);
      await fsp.rm(path);
      expect((await open(path)).state.runs).toEqual([]);
    });

    it('refuses a snapshot of another version', async () => {
      const path = await withSnapshot('{"version":2,"seq":0,"threads":[],"runs":[],"done":{},"setAsideSpans":0}');
      await expect(open(path)).rejects.toThrow(/state\.json has version 2, and this assistants-otel reads version 1/);
    });

    it('reads a snapshot written before threads kept their cursor run\'s creation time', async () => {
      const thread = { threadId: 'thread_1', since: 100, cursor: 'run_9', lastActivityAt: 1_000 };
      const path = await withSnapshot(JSON.stringify({ version: 1, seq: 0, threads: [thread], runs: [], done: {}, setAsideSpans: 0 }));
      const { state } = await open(path);
      expect(state.threads).toEqual([thread]);
      expect(state.threads[0]).not.toHaveProperty('cursorCreatedAt');
    });

    it('refuses a snapshot whose cursor creation time is not a number, naming the entry', async () => {
      const path = await withSnapshot('{"version":1,"seq":0,"threads":[{"threadId":"thread_1","since":1,"lastActivityAt":1,"cursor":"run_1","cursorCreatedAt":"soon"}],"runs":[],"done":{},"setAsideSpans":0}');
      await expect(open(path)).rejects.toThrow(/state\.json is not a valid version 1 state: threads\[0\]/);
    });

    it('refuses a snapshot with a malformed entry', async () => {
      const path = await withSnapshot('{"version":1,"seq":0,"threads":[],"runs":[{"runId":"run_1"}],"done":{},"setAsideSpans":0}');
      await expect(open(path)).rejects.toThrow(/state\.json is not a valid version 1 state: runs\[0\]/);
    });
  });

  describe('the lock', () => {
    const writeLock = async (path: string, owner: { pid: number; hostname: string }, ageMillis = 0) => {
      await fsp.mkdir(dirname(path), { recursive: true });
      await fsp.writeFile(`${path}.lock`, JSON.stringify(owner));
      const then = new Date(Date.now() - ageMillis);
      await fsp.utimes(`${path}.lock`, then, then);
    };
    const startProcess = () => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });

    it('refuses a second opener in this process, naming the path', async () => {
      const path = freshPath();
      await open(path);
      await expect(open(path)).rejects.toThrow(/state file .*state\.json is already open in this process/);
    });

    it('refuses a lock held by a running process on this host', async () => {
      const path = freshPath();
      const holder = startProcess();
      try {
        await writeLock(path, { pid: holder.pid ?? 0, hostname: hostname() });
        await expect(open(path)).rejects.toThrow(new RegExp(`state file .*state\\.json is in use by pid ${holder.pid} on host .*Is another assistants-otel watch running`));
      } finally {
        holder.kill();
      }
    });

    it('breaks a lock whose process is gone, with a warning', async () => {
      const path = freshPath();
      const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      await once(gone, 'exit');
      await writeLock(path, { pid: gone.pid ?? 0, hostname: hostname() });
      await open(path);
      expect(warnings).toEqual([expect.stringMatching(new RegExp(`breaking the stale lock .*pid ${gone.pid} .*not running`))]);
      expect(JSON.parse(await fsp.readFile(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
    });

    it('refuses a fresh lock from another host, and breaks it once it is no longer refreshed', async () => {
      const path = freshPath();
      await writeLock(path, { pid: 1, hostname: 'another-host' });
      await expect(open(path, { lockStaleAfterMillis: 60_000 })).rejects.toThrow(/in use by pid 1 on host another-host/);
      await writeLock(path, { pid: 1, hostname: 'another-host' }, 61_000);
      await open(path, { lockStaleAfterMillis: 60_000 });
      expect(warnings).toEqual([expect.stringMatching(/breaking the stale lock .*another-host, not refreshed for 61 s/)]);
    });

    it('refreshes its lock while open, and removes it on close', async () => {
      const path = freshPath();
      const { store } = await open(path, { lockStaleAfterMillis: 200 });
      const past = new Date(Date.now() - 10_000);
      await fsp.utimes(`${path}.lock`, past, past);
      await vi.waitFor(async () => expect((await fsp.stat(`${path}.lock`)).mtimeMs).toBeGreaterThan(Date.now() - 1_000), { timeout: 2_000 });
      await store.close();
      await expect(fsp.stat(`${path}.lock`)).rejects.toThrow(/ENOENT/);
    });
  });
});
