/**
 * One process per state file. The lock is a file (`STATE.lock`) created exclusively (`wx`), holding
 * `{"pid":…,"hostname":…,"acquiredAt":…}`; its holder refreshes its mtime (a heartbeat) while it
 * runs. A lock is stale, and is broken with a warning, when:
 * - it was not refreshed for `staleAfterMillis` (the holder died, froze, or is on another host); or
 * - it names this host and a pid that is not running; or
 * - it names this host and our own pid without this process holding it: a container restarted
 *   reuses the same pid, and there only the heartbeat would otherwise free it.
 * The pid check alone is not enough: in a fresh container pid 1 always runs, whoever wrote the lock.
 *
 * Known limit: two processes that find the same stale lock at the same instant may both break it.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { errorCode, type StateFileSystem } from './file-system.js';

export interface LockOptions {
  fs: StateFileSystem;
  staleAfterMillis: number;
  /** Named in the error when the lock is held. */
  statePath: string;
  onWarning: (message: string) => void;
}

export interface HeldLock {
  release(): Promise<void>;
}

/** Locks held by this process, so a second open in the same process fails instead of reading its own pid as stale. */
const heldHere = new Set<string>();

interface Holder {
  stale: boolean;
  description: string;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return errorCode(error) === 'EPERM';
  }
}

async function inspect(lockPath: string, options: LockOptions): Promise<Holder> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([options.fs.readFile(lockPath, 'utf8'), options.fs.stat(lockPath)]);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { stale: true, description: 'released meanwhile' };
    throw error;
  }
  const ageSeconds = Math.round((Date.now() - mtimeMs) / 1000);
  let owner: { pid?: unknown; hostname?: unknown } = {};
  try {
    owner = JSON.parse(text) as typeof owner;
  } catch {
    // Written by `wx` open + write: a reader can see it empty for an instant. Only its age can tell.
  }
  const pid = typeof owner.pid === 'number' ? owner.pid : undefined;
  const host = typeof owner.hostname === 'string' ? owner.hostname : undefined;
  const who = pid === undefined ? 'an unknown process' : `pid ${pid} on host ${host ?? '?'}`;
  if (Date.now() - mtimeMs > options.staleAfterMillis) return { stale: true, description: `${who}, not refreshed for ${ageSeconds} s` };
  if (pid !== undefined && host === hostname()) {
    if (pid === process.pid) return { stale: true, description: `${who}: our own pid, left by an earlier process` };
    if (!isRunning(pid)) return { stale: true, description: `${who}, which is not running` };
  }
  return { stale: false, description: `${who}, refreshed ${ageSeconds} s ago` };
}

/** The state file is locked by another live sidecar: a start-up error, reported against `--state`. */
export class StateInUseError extends Error {
  override readonly name = 'StateInUseError';
}

export async function acquireLock(lockPath: string, options: LockOptions): Promise<HeldLock> {
  const key = resolve(lockPath);
  if (heldHere.has(key)) throw new Error(`state file ${options.statePath} is already open in this process (lock ${lockPath})`);
  heldHere.add(key); // before the first await, so a concurrent open in this process fails too
  try {
    const content = JSON.stringify({ pid: process.pid, hostname: hostname(), acquiredAt: new Date().toISOString() });
    for (let attempt = 1; ; attempt++) {
      try {
        await options.fs.writeFile(lockPath, content, { flag: 'wx' });
        break;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST' || attempt === 3) throw error;
      }
      const holder = await inspect(lockPath, options);
      if (!holder.stale) {
        throw new StateInUseError(
          `state file ${options.statePath} is in use by ${holder.description} (lock ${lockPath}). ` +
            `Is another assistants-otel watch running on it? If not, delete the lock file.`,
        );
      }
      options.onWarning(`breaking the stale lock ${lockPath} (${holder.description})`);
      await options.fs.rm(lockPath, { force: true });
    }
  } catch (error) {
    heldHere.delete(key);
    throw error;
  }

  let warned = false;
  const heartbeat = setInterval(() => {
    const now = new Date();
    options.fs.utimes(lockPath, now, now).catch((error: Error) => {
      if (!warned) options.onWarning(`could not refresh the lock ${lockPath}: ${error.message}`);
      warned = true;
    });
  }, Math.max(1, Math.floor(options.staleAfterMillis / 4)));
  heartbeat.unref();

  return {
    async release() {
      clearInterval(heartbeat);
      try {
        await options.fs.rm(lockPath, { force: true });
      } finally {
        heldHere.delete(key);
      }
    },
  };
}
