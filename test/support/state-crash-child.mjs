/**
 * The process test/e2e/state-crash.test.ts kills. It opens the built file store, makes calls
 * `from`… of a deterministic sequence in waves of concurrent calls (so they are group-committed), and
 * prints each call's index on stdout once its promise resolved (a pipe write is synchronous on Linux,
 * so a printed index was acknowledged before the process could die). At the end it closes the store
 * and prints `closed`.
 *
 * argv[2] is JSON: { statePath, opsFile, from, to?, compactAfterJournalBytes, crashAt?: { event,
 * occurrence, duringClose? } }. It makes calls `from` to `to` (default: all), then closes the store.
 * With `crashAt`, it SIGKILLs itself at that occurrence of a step of the store's disk work (counting
 * only the steps `close()` takes, with `duringClose`):
 *   journal-write     a journal write, after writing only part of it (a torn line)
 *   journal-datasync  a journal write done, not yet fdatasync'ed
 *   snapshot-sync     a compaction's PATH.tmp written, not yet fsync'ed
 *   rename            PATH.tmp fsync'ed, not yet renamed over PATH
 *   renamed           renamed, the directory not yet fsync'ed
 *   truncate          the directory fsync'ed, the journal not yet truncated
 *   truncated         the journal truncated
 */
import * as fsp from 'node:fs/promises';
import { createFileStateStore } from '../../dist/state/file-store.js';

const config = JSON.parse(process.argv[2]);
const { calls, waves } = JSON.parse(await fsp.readFile(config.opsFile, 'utf8'));
const seen = new Map();
let closing = false;

/** Counts `event`; true at the occurrence the test asked to die at. */
function isCrashPoint(event) {
  if (Boolean(config.crashAt?.duringClose) !== closing) return false;
  const count = (seen.get(event) ?? 0) + 1;
  seen.set(event, count);
  return config.crashAt?.event === event && config.crashAt.occurrence === count;
}

function die() {
  process.kill(process.pid, 'SIGKILL');
  return new Promise(() => {}); // not reached: SIGKILL to oneself lands before the call returns
}

function wrapJournal(handle) {
  return new Proxy(handle, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (key === 'write') {
        return async (buffer, offset = 0, length = buffer.length - offset) => {
          if (isCrashPoint('journal-write')) {
            // End mid-line: not after a newline, nor just before one (a line missing only its
            // newline is intact, and load keeps it).
            let cut = Math.floor(length / 2);
            while (cut > 1 && (buffer[offset + cut - 1] === 0x0a || buffer[offset + cut] === 0x0a)) cut -= 1;
            await target.write(buffer, offset, cut);
            return die();
          }
          return target.write(buffer, offset, length);
        };
      }
      if (key === 'datasync') return () => (isCrashPoint('journal-datasync') ? die() : target.datasync());
      if (key === 'truncate') {
        return async (length) => {
          if (isCrashPoint('truncate')) return die();
          await target.truncate(length);
          if (isCrashPoint('truncated')) return die();
        };
      }
      return value.bind(target);
    },
  });
}

function wrapSnapshot(handle) {
  return new Proxy(handle, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (key === 'sync') return () => (isCrashPoint('snapshot-sync') ? die() : target.sync());
      return value.bind(target);
    },
  });
}

const fs = {
  async open(path, flags, mode) {
    const handle = await fsp.open(path, flags, mode);
    const name = String(path);
    if (name.endsWith('.journal')) return wrapJournal(handle);
    if (name.endsWith('.tmp')) return wrapSnapshot(handle);
    return handle;
  },
  async rename(from, to) {
    if (isCrashPoint('rename')) return die();
    await fsp.rename(from, to);
    if (isCrashPoint('renamed')) return die();
  },
};

const store = createFileStateStore(config.statePath, {
  compactAfterJournalBytes: config.compactAfterJournalBytes,
  fs,
  onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
});
await store.load();
const to = config.to ?? calls.length;
for (let start = config.from; start < to; ) {
  const end = Math.min(to, start + waves[start]);
  const wave = [];
  for (let index = start; index < end; index++) {
    const { method, args } = calls[index];
    wave.push(store[method](...args).then(() => process.stdout.write(`${index}\n`)));
  }
  await Promise.all(wave);
  start = end;
}
closing = true;
await store.close();
process.stdout.write('closed\n');
