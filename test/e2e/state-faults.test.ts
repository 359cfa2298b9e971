/**
 * The state store's faults are loud (README "State"):
 * - a `--state` that cannot be used (a directory, a path under /proc, a parent that is a file, a
 *   directory the process may not write) is a start-up error naming `--state` and the path, exit 2,
 *   at once (a path under /proc used to hang at 75% CPU);
 * - a disk that fills up while the sidecar runs (a small tmpfs, mounted by the test when it may:
 *   it runs as root and `mount` is permitted; otherwise this one test is skipped, saying why):
 *   `/healthz` answers 503, the failure is logged once, the sidecar drains and exits 1 by itself;
 *   SIGTERM ends it at any point.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { cleanupAll, metricValue, outputOf, registrationUrl, scenario, startWatch, startWorld, tempDir, waitUntil } from './watch/helpers.js';

afterEach(cleanupAll);

/** Whether this process may mount a tmpfs (root, with the capability), decided once, with the reason when not. */
function probeMount(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
  const probe = mkdtempSync(join(tmpdir(), 'assistants-otel-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `mount is not permitted here (${String((error as { stderr?: Buffer }).stderr ?? error).trim()})` };
  } finally {
    rmdirSync(probe);
  }
}
const MOUNT = probeMount();
if (!MOUNT.ok) console.warn(`state-faults: the full-disk test is skipped: ${MOUNT.reason}`);

describe('an unusable --state is a start-up error', () => {
  it('a directory, a path under /proc, a file as a parent, a read-only place: exit 2 naming --state, the path and why', async () => {
    const dir = await tempDir();
    writeFileSync(join(dir, 'a-file'), 'x');
    mkdirSync(join(dir, 'state-dir'));
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'state-dir'), /is a directory; give a file path, e.g. .*state-dir\/state\.json/],
      ['/proc/assistants-otel/state.json', /its directory cannot be created \(ENOENT/],
      [join(dir, 'a-file', 'state.json'), /a parent of it is not a directory/],
      ['/sys/assistants-otel-state.json', /permission denied|read-only file system|operation not permitted/],
    ];
    for (const [path, why] of cases) {
      const result = await runCli(['watch', '--state', path, '--thread', 'thread_a'], { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }, timeoutMs: 15_000 });
      expect(result.code, `${path}\n${result.stderr}`).toBe(2);
      const line = result.stderr.trim().split('\n').at(-1) ?? '';
      expect(line.startsWith(`assistants-otel --state: cannot use ${path} for the state: `), line).toBe(true);
      expect(line).toMatch(why);
    }
  });
});

describe('store warnings', () => {
  it('a damaged journal line is logged and counted in /metrics (assistants_otel_state_warnings_total)', async () => {
    const world = await startWorld({ scenario: scenario('every-type') });
    const state = join(world.dir, 'state.json');
    writeFileSync(state, `${JSON.stringify({ version: 1, seq: 0, threads: [], runs: [], done: {}, setAsideSpans: 0 })}\n`);
    writeFileSync(`${state}.journal`, 'deadbeef {"seq":1,"op":"garbage"}\n');
    const cli = startWatch(world, ['--state', state]);
    const url = await registrationUrl(cli);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'assistants_otel_state_warnings_total')).toBe(1);
    expect(cli.stderr()).toMatch(/WARN +state journal .*state\.json\.journal: ignored a torn last line \(line 1\)|WARN +state journal .*ignored 1 damaged line/);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
  });
});

describe('a disk that fills up while running', () => {
  it.runIf(MOUNT.ok)('/healthz answers 503, the failure is logged once, and the sidecar drains and exits 1; SIGTERM ends it too', async () => {
    for (const ending of ['by itself', 'SIGTERM'] as const) {
      const mountPoint = await tempDir();
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]);
      try {
        // Busy enough to write well past the journal's last page (tmpfs hands out 4 KiB pages).
        const world = await startWorld({ scenario: scenario('many-threads:6x20') });
        // A slow collector keeps exports in flight, so the drain after the failure lasts long enough
        // to see /healthz answer 503; with SIGTERM, one that never answers, so only the signal ends it.
        world.script = () => ({ status: 200, delayMs: ending === 'SIGTERM' ? 60_000 : 1_500 });
        const cli = startWatch(world, ['--state', join(mountPoint, 'state.json'), '--drain-timeout', ending === 'SIGTERM' ? '60s' : '3s']);
        const url = await registrationUrl(cli);
        expect((await fetch(`${url}/healthz`)).status).toBe(200);

        // Fill the disk: the next journal write fails with ENOSPC.
        const filler = await open(join(mountPoint, 'filler'), 'w');
        try {
          for (;;) await filler.write(Buffer.alloc(16 * 1024, 1));
        } catch (error) {
          expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
        } finally {
          await filler.close();
        }

        const health = await waitUntil(async () => {
          const response = await fetch(`${url}/healthz`).catch(() => undefined);
          return response?.status === 503 ? ((await response.json()) as { status: string }) : undefined;
        }, { what: '/healthz to answer 503', details: () => outputOf(cli) });
        expect(health).toEqual({ status: 'state store failed' });
        if (ending === 'SIGTERM') {
          const metrics = await (await fetch(`${url}/metrics`)).text();
          expect(metricValue(metrics, 'assistants_otel_state_failed')).toBe(1);
          cli.child.kill('SIGTERM');
        }
        const exit = await cli.exited;
        expect(exit, outputOf(cli)).toEqual({ code: 1, signal: null });
        const failures = cli.stderr().split('\n').filter((l) => l.includes('the state store failed'));
        expect(failures.filter((l) => /ERROR/.test(l)), outputOf(cli)).toHaveLength(1);
        expect(failures.join('\n')).toMatch(/ENOSPC/);
        expect(cli.stderr()).toMatch(/stopping: the state store failed/);
      } finally {
        execFileSync('umount', ['-l', mountPoint]);
        await rm(mountPoint, { recursive: true, force: true });
      }
    }
  });
});
