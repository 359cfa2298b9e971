/**
 * The file store's faults are loud (README "State"): a location that cannot be used is a
 * `StateLocationError` naming the path and why, at once (no hang, no CPU spin: Node's recursive
 * mkdir loops forever under /proc, ours does not); a write failure while running is reported once
 * through `onFailure`; every warning goes through `onWarning`.
 */
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileStateStore } from '../../../src/state/file-store.js';
import { ensureDirectory, nodeFileSystem } from '../../../src/state/file-system.js';
import { StateLocationError } from '../../../src/state/store.js';

let root: string;
beforeAll(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'assistants-otel-store-faults-'));
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function openError(path: string): Promise<StateLocationError> {
  const store = createFileStateStore(path);
  try {
    await store.load();
  } catch (error) {
    return error as StateLocationError;
  } finally {
    await store.close().catch(() => {});
  }
  throw new Error(`expected ${path} to be refused`);
}

describe('a location that cannot be used', () => {
  it('a directory given as the state file', async () => {
    const error = await openError(root);
    expect(error).toBeInstanceOf(StateLocationError);
    expect(error).toMatchObject({ location: root, code: 'EISDIR' });
    expect(error.message).toBe(`cannot use ${root} for the state: is a directory; give a file path, e.g. ${join(root, 'state.json')}`);
  });

  it('a path under /proc fails at once instead of spinning', async () => {
    const started = performance.now();
    const error = await openError('/proc/assistants-otel-test/state.json');
    expect(error).toBeInstanceOf(StateLocationError);
    expect(error.message).toMatch(/^cannot use \/proc\/assistants-otel-test\/state\.json for the state: its directory cannot be created \(ENOENT/);
    // Not a timing assertion: the old code never returned at all; this bounds the test, generously.
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('a parent that is a file', async () => {
    const file = join(root, 'plain-file');
    await fsp.writeFile(file, 'x');
    const error = await openError(join(file, 'sub', 'state.json'));
    expect(error).toMatchObject({ code: 'ENOTDIR' });
    expect(error.message).toMatch(/a parent of it is not a directory/);
  });

  it('a read-only location (EROFS, EACCES) says so', async () => {
    for (const [code, why] of [['EROFS', 'is on a read-only file system'], ['EACCES', 'permission denied']] as const) {
      const path = join(root, `ro-${code}`, 'state.json');
      const store = createFileStateStore(path, {
        fs: { writeFile: () => Promise.reject(Object.assign(new Error(`${code}: cannot write, open '${path}.lock'`), { code })) },
      });
      const error = await store.load().then(
        () => undefined,
        (e: unknown) => e as StateLocationError,
      );
      await store.close().catch(() => {});
      expect(error).toBeInstanceOf(StateLocationError);
      expect(error?.message).toMatch(new RegExp(`^cannot use .*ro-${code}/state\\.json for the state: ${why}`));
    }
  });

  it('ensureDirectory creates the missing directories, and leaves existing ones', async () => {
    const deep = join(root, 'a', 'b', 'c');
    await ensureDirectory(nodeFileSystem, deep);
    await ensureDirectory(nodeFileSystem, deep);
    expect((await fsp.stat(deep)).isDirectory()).toBe(true);
  });
});

describe('failures and warnings while running', () => {
  it('a journal write that fails (a full disk) is reported once through onFailure; later mutations fail too', async () => {
    const path = join(root, 'full', 'state.json');
    const failures: Error[] = [];
    let full = false;
    const store = createFileStateStore(path, {
      onFailure: (error) => failures.push(error),
      fs: {
        open: async (file, flags, mode) => {
          const handle = await fsp.open(file, flags, mode);
          if (!String(file).endsWith('.journal')) return handle;
          const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
          return Object.assign(handle, {
            write: (...args: unknown[]) => (full ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })) : write(...args)),
          });
        },
      },
    });
    await store.load();
    await store.putThread({ threadId: 'thread_a', since: 0, lastActivityAt: 0 });
    full = true;
    await expect(store.putThread({ threadId: 'thread_b', since: 0, lastActivityAt: 0 })).rejects.toThrow(/a write failed, so the store accepts no more changes: ENOSPC/);
    await expect(store.putThread({ threadId: 'thread_c', since: 0, lastActivityAt: 0 })).rejects.toThrow(/a write failed/);
    await expect(store.close()).rejects.toThrow(/a write failed/);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toMatch(/state journal .*full\/state\.json\.journal: a write failed/);
  });

  it('a stale lock broken at start-up is a warning', async () => {
    const path = join(root, 'stale', 'state.json');
    await fsp.mkdir(join(root, 'stale'), { recursive: true });
    await fsp.writeFile(`${path}.lock`, JSON.stringify({ pid: 999_999_999, hostname: 'elsewhere', acquiredAt: '2020-01-01T00:00:00Z' }));
    const old = new Date(Date.now() - 3_600_000);
    await fsp.utimes(`${path}.lock`, old, old);
    const warnings: string[] = [];
    const store = createFileStateStore(path, { onWarning: (m) => warnings.push(m) });
    await store.load();
    await store.close();
    expect(warnings).toEqual([expect.stringMatching(/^breaking the stale lock .*stale\/state\.json\.lock \(pid 999999999 on host elsewhere, not refreshed for \d+ s\)$/)]);
  });
});
