/**
 * The file store under real `kill -9`. One state file, one long deterministic sequence of calls, and
 * a chain of child processes (test/support/state-crash-child.mjs, over the built dist/): each child
 * loads what the previous one left, continues the sequence where that state ends, and is SIGKILLed,
 * either by this test after a seeded number of acknowledged calls or by itself at an exact step of
 * a journal write or a compaction. After each kill a copy of the files is opened here and must be
 * exactly the state after some prefix of the sequence that includes every call the child reported
 * as resolved: nothing acknowledged lost, nothing half-applied. The last child runs to the end.
 *
 * STATE_CRASH_SEED=<n> runs another plan; STATE_CRASH_VERBOSE=1 prints each step.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFileStateStore } from '../../src/state/file-store.js';
import { ReferenceState, canonicalState, randomCalls, seededRandom } from '../support/state-ops.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = join(ROOT, 'test/support/state-crash-child.mjs');
const SEED = Number(process.env.STATE_CRASH_SEED ?? 20_260_826);
const CALLS = 12_000;
/** Small, so children compact every few dozen calls (the threshold is also at least the snapshot size). */
const COMPACT_AFTER_JOURNAL_BYTES = 2_048;

type Kill =
  | { by: 'test'; afterAcks: number }
  /** The child dies at this step of its disk work; with `closeAfterCalls`, at a step of `close()` after that many calls. */
  | { by: 'child'; event: string; occurrence: number; closeAfterCalls?: number }
  | { by: 'nobody' };

let dir: string;
beforeAll(async () => {
  await assertBuilt();
  dir = await fsp.mkdtemp(join(tmpdir(), 'assistants-otel-state-crash-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** The child runs the built store: fail clearly if dist/ is missing or older than src/state. */
async function assertBuilt(): Promise<void> {
  const newest = async (folder: string, ext: string) => {
    const names = (await fsp.readdir(join(ROOT, folder))).filter((name) => name.endsWith(ext));
    const times = await Promise.all(names.map(async (name) => (await fsp.stat(join(ROOT, folder, name))).mtimeMs));
    return { count: names.length, time: Math.max(0, ...times) };
  };
  const built = await newest('dist/state', '.js').catch(() => ({ count: 0, time: 0 }));
  const source = await newest('src/state', '.ts');
  if (built.count === 0 || built.time < source.time) {
    throw new Error('dist/state is missing or older than src/state: run `npm run build` (`npm test` does) before this test');
  }
}

function killPlan(): Kill[] {
  const random = seededRandom(SEED);
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const byTest = (): Kill => ({ by: 'test', afterAcks: between(20, 300) });
  const byChild = (event: string, low: number, high: number): Kill => ({ by: 'child', event, occurrence: between(low, high) });
  // Occurrence 1 of a compaction step after a kill that left journal lines is the compaction load() does.
  const atLoad = (event: string): Kill => ({ by: 'child', event, occurrence: 1 });
  const inClose = (event: string): Kill => ({ by: 'child', event, occurrence: 1, closeAfterCalls: between(1, 200) });
  const round = (): Kill[] => [
    byTest(),
    atLoad('snapshot-sync'),
    byChild('journal-datasync', 3, 60),
    atLoad('truncate'),
    byChild('journal-write', 3, 60),
    atLoad('renamed'),
    byChild('snapshot-sync', 2, 4),
    byTest(),
    atLoad('rename'),
    byChild('rename', 2, 4),
    byChild('renamed', 2, 4),
    byChild('truncate', 2, 4),
    byChild('truncated', 2, 4),
    byChild('journal-write', 3, 60),
    atLoad('truncated'),
    inClose('snapshot-sync'),
    inClose('rename'),
    inClose('renamed'),
    inClose('truncate'),
    byTest(),
    byTest(),
  ];
  return [...round(), ...round(), { by: 'nobody' }];
}

interface ChildRun {
  acks: number[];
  closed: boolean;
  signal: NodeJS.Signals | null;
  stderr: string;
}

async function runChild(config: object, kill: Kill): Promise<ChildRun> {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result: ChildRun = { acks: [], closed: false, signal: null, stderr: '' };
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'closed') result.closed = true;
      else result.acks.push(Number(line));
    }
    if (kill.by === 'test' && result.acks.length >= kill.afterAcks) child.kill('SIGKILL');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (result.stderr += chunk));
  const [, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  result.signal = signal;
  return result;
}

/** Opens a copy of the files as a restarted sidecar would find them (the original stays for the next child). */
async function recover(statePath: string, name: string) {
  const copy = join(dir, name, 'state.json');
  await fsp.mkdir(join(dir, name));
  for (const suffix of ['', '.journal', '.lock']) {
    await fsp.copyFile(statePath + suffix, copy + suffix).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  const warnings: string[] = [];
  const store = createFileStateStore(copy, { onWarning: (message) => warnings.push(message) });
  const state = await store.load();
  await store.close();
  return { state, warnings };
}

it('loses no acknowledged call and applies no call by halves, whenever the process is killed', { timeout: 60_000 }, async () => {
  const calls = randomCalls(SEED, CALLS);
  const random = seededRandom(SEED + 1);
  // waves[i]: how many calls the child makes at once starting at call i.
  const waves = calls.map(() => 1 + Math.floor(random() * 16));
  const opsFile = join(dir, 'ops.json');
  await fsp.writeFile(opsFile, JSON.stringify({ calls, waves }));

  // A hash of the state after each prefix of the calls: prefixes[k] is the state after calls 0..k-1.
  const reference = new ReferenceState();
  const hash = (text: string) => createHash('sha1').update(text).digest('hex');
  const prefixes = [hash(canonicalState(reference.snapshot()))];
  for (const call of calls) {
    reference.apply(call);
    prefixes.push(hash(canonicalState(reference.snapshot())));
  }

  const statePath = join(dir, 'live', 'state.json');
  let from = 0;
  const log: string[] = [];
  for (const [step, kill] of killPlan().entries()) {
    const config = {
      statePath,
      opsFile,
      from,
      compactAfterJournalBytes: COMPACT_AFTER_JOURNAL_BYTES,
      ...(kill.by === 'child' ? { crashAt: { ...kill, duringClose: kill.closeAfterCalls !== undefined } } : {}),
      ...(kill.by === 'child' && kill.closeAfterCalls !== undefined ? { to: from + kill.closeAfterCalls } : {}),
    };
    const child = await runChild(config, kill);
    const context = `seed ${SEED}, step ${step} (${JSON.stringify(kill)}), from ${from}, after:\n${log.join('\n')}\nstderr:\n${child.stderr}`;

    if (kill.by === 'nobody') {
      expect(child.closed, context).toBe(true);
      expect(child.acks.length, context).toBe(CALLS - from);
    } else {
      expect(child.signal, `the child was not killed: ${context}`).toBe('SIGKILL');
    }

    // Every call is acknowledged once, in [from, CALLS).
    expect(new Set(child.acks).size, context).toBe(child.acks.length);
    const highestAck = Math.max(from - 1, ...child.acks);
    expect(child.acks.every((index) => index >= from && index <= highestAck), context).toBe(true);

    const { state, warnings } = await recover(statePath, `after-step-${step}`);
    // The state is the one after some prefix that holds every acknowledged call (and so every call before them).
    const prefix = prefixes.indexOf(hash(canonicalState(state)), highestAck + 1);
    expect(prefix, `no prefix from ${highestAck + 1} matches the recovered state: ${context}`).toBeGreaterThan(highestAck);
    // And no more than the child can have issued: up to the end of the wave after the last acknowledged one.
    let issuedEnd = from;
    while (issuedEnd <= highestAck) issuedEnd += waves[issuedEnd] ?? 1;
    if (issuedEnd < CALLS) issuedEnd += waves[issuedEnd] ?? 1;
    expect(prefix, context).toBeLessThanOrEqual(Math.min(CALLS, issuedEnd));

    if (kill.by === 'child' && kill.closeAfterCalls !== undefined) {
      // Killed in close(): every call before it was acknowledged.
      expect(child.acks.length, context).toBe(kill.closeAfterCalls);
      expect(prefix, context).toBe(from + kill.closeAfterCalls);
    }
    if (kill.by === 'child' && kill.event === 'journal-write') {
      expect(warnings, context).toContainEqual(expect.stringMatching(/ignored a torn last line/));
    }
    if (kill.by === 'nobody') {
      expect(prefix).toBe(CALLS);
      await expect(fsp.stat(`${statePath}.lock`)).rejects.toThrow(/ENOENT/);
      expect((await fsp.stat(`${statePath}.journal`)).size).toBe(0);
    }
    log.push(`${JSON.stringify(kill)}: from ${from}, ${child.acks.length} acknowledged, recovered prefix ${prefix}`);
    from = prefix;
  }
  if (process.env.STATE_CRASH_VERBOSE) console.info(`state crash test, seed ${SEED}:\n${log.join('\n')}`);
});
