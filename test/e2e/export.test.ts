/**
 * `assistants-otel export` as a user runs it: the real CLI process against the protocol simulator
 * (real clock) and a loopback OTLP receiver that decodes what was sent with the official protos.
 *
 * The world: `thread_history` with 30 finished runs (completed and failed, with tool calls), a run of
 * 250 steps (three pages of steps) and a run still going; `thread_many` with 120 runs (two pages of
 * runs). What must arrive is what the library's pure mapping makes of the simulator's records.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScenarioInput, ScenarioRunInput } from '../../src/simulator/scenario-schema.js';
import { CLI_SCRIPT, cliEnvironment, REPO_ROOT, runCli, startCli } from '../support/cli.js';
import { encodeRpcStatus } from '../support/otlp-proto.js';
import {
  cleanupAll,
  comparable,
  expectedSpans,
  longRun,
  outputOf,
  pickComparable,
  simRequests,
  startWorld,
  tempDir,
  treeProblems,
  type World,
} from './watch/helpers.js';

afterEach(cleanupAll);

const TEMPLATES = ['message', 'every-tool', 'function-script', 'message', 'failed'] as const;

function historyScenario(): ScenarioInput {
  const history: ScenarioRunInput[] = Array.from({ length: 30 }, (_, i) => ({
    id: `run_h${String(i).padStart(2, '0')}`,
    startAt: -9000 + i * 200,
    template: TEMPLATES[i % TEMPLATES.length],
  }));
  return {
    name: 'export-e2e',
    threads: [
      {
        id: 'thread_history',
        runs: [
          ...history,
          longRun('run_long', 250, -2000),
          // Still going for the whole test (100,000 scenario seconds at 25 ms each).
          { id: 'run_going', startAt: -10, expiresAfterSeconds: 200_000, steps: [{ type: 'message_creation', durationSeconds: 100_000 }] },
        ],
      },
      {
        id: 'thread_many',
        runs: Array.from({ length: 120 }, (_, i) => ({ id: `run_m${String(i).padStart(3, '0')}`, startAt: -40_000 + i * 100, template: 'message' as const })),
      },
    ],
  };
}

async function world(): Promise<World> {
  return startWorld({ scenario: historyScenario() });
}

function env(w: World, extra: Record<string, string> = {}): Record<string, string> {
  return { OPENAI_BASE_URL: w.sim.url, OTEL_EXPORTER_OTLP_ENDPOINT: w.receiver.url, ...extra };
}

const both = (r: { stdout: string; stderr: string }) => `--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
const bySpanId = <T extends { spanId?: string }>(a: T, b: T) => ((a.spanId ?? '') < (b.spanId ?? '') ? -1 : 1);

/** Every span of these runs arrived exactly once, exactly as the mapping makes them, and only those. */
function expectExactly(w: World, runIds: readonly string[]): void {
  const expected = expectedSpans(w, { threads: ['thread_history', 'thread_many'], runIds }).map(comparable).sort(bySpanId);
  const received = w.receiver.spans().map(pickComparable).sort(bySpanId);
  expect(received).toEqual(expected);
  expect(treeProblems(w.receiver.spans())).toEqual([]);
  expect(w.check.violations).toEqual([]);
}

/** A request budget for loopback (the default, 10 requests a second, is for real APIs). */
const QUICK = ['--max-rps', '500', '--max-concurrency', '16'];

const HISTORY_RUNS = [...Array.from({ length: 30 }, (_, i) => `run_h${String(i).padStart(2, '0')}`), 'run_long'];
const PROGRESS_LINE = /^export: (\d+)\/31 runs, (\d+) steps read, (\d+) spans delivered \(\d+ spans\/s, ETA [^)]+\)$/;

describe('assistants-otel export (end to end)', () => {
  it('a thread\'s whole history: every page, finished runs only, the one still going reported; plain progress lines on a pipe', async () => {
    const w = await world();
    const result = await runCli(['export', '--thread', 'thread_history', ...QUICK], { env: env(w), timeoutMs: 60_000 });
    expect(result.code, both(result)).toBe(0);

    expectExactly(w, HISTORY_RUNS);
    // The 250-step run's steps took three pages (100 a page); the run still going was never read further.
    const longPages = simRequests(w.sim, 'listRunSteps').filter((r) => r.path.includes('/run_long/'));
    expect(longPages).toHaveLength(3);
    expect(simRequests(w.sim, 'listRunSteps').filter((r) => r.path.includes('/run_going/'))).toEqual([]);
    expect(w.receiver.spans().some((s) => s.attributes['assistants.run.id'] === 'run_going')).toBe(false);

    const spans = w.receiver.spans().length;
    expect(result.stdout).toContain(`export: 31 of 31 finished runs from 1 thread → ${spans} of ${spans} spans delivered\n  to ${w.receiver.url}/v1/traces: 31 runs,`);
    expect(result.stdout).toContain('1 run is still going, not exported: run_going (in_progress)');

    // Progress on stderr, as plain lines: listing, the count, lines as runs are done, the last with every count.
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('export: listing the runs of 1 thread');
    expect(lines[1]).toBe('export: 31 finished runs to export from 1 thread');
    const progress = lines.slice(2).map((l) => PROGRESS_LINE.exec(l));
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(progress.every((m) => m !== null), result.stderr).toBe(true);
    expect(progress.at(-1)?.slice(1, 4)).toEqual(['31', String(w.sim.state.steps.filter((s) => HISTORY_RUNS.includes(String(s['run_id']))).length), String(spans)]);
    expect(result.stderr).not.toMatch(/[\r\u001b]/);
  });

  it('every page of runs (120, newest first), and --since/--until stop the listing where the window ends', async () => {
    const w = await world();
    const all = await runCli(['export', '--thread', 'thread_many', '--progress', 'none', ...QUICK], { env: env(w), timeoutMs: 60_000 });
    expect(all.code, all.stderr).toBe(0);
    expect(simRequests(w.sim, 'listRuns')).toHaveLength(2);
    expect(new Set(w.receiver.spans().map((s) => s.attributes['assistants.run.id'])).size).toBe(120);
    expect(all.stderr).toBe('');

    // A window over runs 100–109: created at or after run_m100's creation, before run_m110's.
    const created = (id: string) => Number(w.sim.state.runs.find((r) => r['id'] === id)?.['created_at']);
    const listsBefore = simRequests(w.sim, 'listRuns').length;
    w.receiver.reset();
    const windowed = await runCli(
      ['export', ...QUICK, '--thread', 'thread_many', '--since', String(created('run_m100')), '--until', new Date(created('run_m110') * 1000).toISOString(), '--progress', 'none'],
      { env: env(w) },
    );
    expect(windowed.code, windowed.stderr).toBe(0);
    const exported = [...new Set(w.receiver.spans().map((s) => String(s.attributes['assistants.run.id'])))].sort();
    expect(exported).toEqual(Array.from({ length: 10 }, (_, i) => `run_m${100 + i}`));
    // Newest first: the first page (runs 119…20) already reaches past --since, so one request.
    expect(simRequests(w.sim, 'listRuns').length - listsBefore).toBe(1);
  });

  it('--since/--until keep a run whose record has no usable time (it is placed by its steps), with a warning saying so', async () => {
    const w = await startWorld({
      scenario: {
        name: 'export-untimed',
        threads: [
          {
            id: 'thread_untimed',
            runs: [
              { id: 'run_old', startAt: -5000, template: 'message' },
              // Every read of it lacks every time of its own: nothing says it is outside the window.
              { id: 'run_untimed', startAt: -3000, template: 'message', patch: { omit: ['created_at'], set: { started_at: null, completed_at: null, expires_at: null } } },
              { id: 'run_new', startAt: -1000, template: 'message' },
            ],
          },
        ],
      },
    });
    const created = (id: string) => Number(w.sim.state.runs.find((r) => r['id'] === id)?.['created_at']);
    // The window holds run_new only (by creation time); run_old is before it.
    const since = created('run_new');
    const result = await runCli(['export', ...QUICK, '--thread', 'thread_untimed', '--since', String(since), '--progress', 'none'], { env: env(w) });
    expect(result.code, both(result)).toBe(0);
    const exported = [...new Set(w.receiver.spans().map((s) => String(s.attributes['assistants.run.id'])))].sort();
    expect(exported).toEqual(['run_new', 'run_untimed']);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      "warning: thread_untimed run_untimed: created_at: missing, and no other usable timestamp: the record is kept and placed by its steps' times",
      'warning: thread_untimed run_untimed: created_at unknown: exported whatever --since/--until say',
    ]);
    const expected = expectedSpans(w, { threads: ['thread_untimed'], runIds: ['run_new', 'run_untimed'] }).map(comparable).sort(bySpanId);
    expect(w.receiver.spans().map(pickComparable).sort(bySpanId)).toEqual(expected);
    const runSpan = w.receiver.spans().find((s) => s.attributes['assistants.run.id'] === 'run_untimed' && s.attributes['gen_ai.operation.name'] === 'invoke_agent');
    expect(runSpan?.attributes['assistants.quirks']).toEqual(['time_unknown']);
  });

  it('--run: one run, all its steps', async () => {
    const w = await world();
    const result = await runCli(['export', '--thread', 'thread_history', '--run', 'run_long', '--progress', 'none'], { env: env(w) });
    expect(result.code, result.stderr).toBe(0);
    expectExactly(w, ['run_long']);
    expect(w.receiver.spans()).toHaveLength(251);
    expect(simRequests(w.sim, 'listRuns')).toEqual([]);
  });

  it('--threads-file - reads thread ids from standard input (comments, blank lines and repeats skipped)', async () => {
    const w = await world();
    // Until run_h01: every run of thread_many (older), and run_h00 of thread_history.
    const result = await runCli(['export', ...QUICK, '--threads-file', '-', '--until', String(Number(w.sim.state.runs.find((r) => r['id'] === 'run_h01')?.['created_at'])), '--progress', 'none'], {
      env: env(w),
      stdin: '# the threads to backfill\nthread_many\n\nthread_many   # again\nthread_history\n',
      timeoutMs: 60_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const runs = new Set(w.receiver.spans().map((s) => String(s.attributes['assistants.run.id'])));
    expect([...runs].filter((r) => r.startsWith('run_m'))).toHaveLength(120);
    expect([...runs].filter((r) => r.startsWith('run_h'))).toEqual(['run_h00']);
    expect(result.stdout).toMatch(/from 2 threads →/);
  });

  it('Ctrl-C mid-way: stops at once, says what was delivered, exits 130; nothing is read after', async () => {
    const w = await world();
    w.sim.faults.add({ kind: 'delay', delayMs: 150, match: { operation: 'listRunSteps' } });
    const cli = startCli(['export', '--thread', 'thread_history', '--max-spans-per-batch', '4'], { env: env(w) });
    await cli.waitForOutput(/^export: \d+\/31 runs, \d+ steps read, [1-9]\d* spans delivered/m, { stream: 'stderr', timeoutMs: 30_000 });
    expect(await cli.kill('SIGINT')).toEqual({ code: 130, signal: null });
    const requestsAtExit = w.sim.requests.length;

    const summary = /→ (\d+) of (\d+) spans delivered/.exec(cli.stdout());
    expect(summary, outputOf(cli)).not.toBeNull();
    const delivered = Number(summary?.[1]);
    const onTheirWay = Number(/(\d+) more spans were on their way/.exec(cli.stdout())?.[1] ?? 0);
    expect(delivered).toBeGreaterThan(0);
    const received = w.receiver.spans().length;
    expect(received).toBeGreaterThanOrEqual(delivered);
    expect(received).toBeLessThanOrEqual(delivered + onTheirWay);
    expect(cli.stdout()).toMatch(/export: \d+ of 31 finished runs/);
    expect(cli.stdout()).toContain('export: interrupted');
    expect(cli.stdout()).toContain('run the same export again to finish');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(w.sim.requests.length).toBe(requestsAtExit);
  });

  it('a progress bar on a pseudo-terminal (script(1)), redrawn in place, and the cursor given back', async () => {
    const w = await world();
    const command = [process.execPath, CLI_SCRIPT, 'export', '--thread', 'thread_history', ...QUICK].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: REPO_ROOT, env: cliEnvironment(env(w)), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.on('error', (error) => resolve({ code: null, error }));
      child.on('close', (code) => resolve({ code }));
    });
    // script(1) comes with util-linux; without it there is no pseudo-terminal to test on.
    expect(exit.error?.message, 'script(1) from util-linux is needed for this test').toBeUndefined();
    expect(exit.code, output).toBe(0);

    expect(output).toContain('\u001b[?25l'); // cursor hidden while drawing
    expect(output).toContain('\u001b[?25h'); // and shown again
    expect(output).toMatch(/\u001b\[1G/); // redrawn from the line's start
    expect(output).toMatch(/export █+░* 31\/31 runs · \d+ steps · \d+ spans · \d+\/s · ETA/);
    expect(output).toMatch(/listing █+ 1\/1 threads · 32 runs found/);
    expect(output).toMatch(/export: 31 of 31 finished runs from 1 thread → \d+ of \d+ spans delivered/);
    expectExactly(w, HISTORY_RUNS);
    // No drawn line is wider than the 80 columns assumed when the terminal does not say.
    const drawn = output.replace(/\u001b\[[0-9;?]*[A-Za-z]|\u001b[78]/g, '\n').split(/[\r\n]+/);
    for (const line of drawn) expect([...line].length, line).toBeLessThanOrEqual(200);
    for (const line of drawn.filter((l) => l.startsWith('export █') || l.startsWith('listing '))) expect([...line].length, line).toBeLessThanOrEqual(80);
  });

  it('a collector that refuses: its reason shown, the rest delivered, exit 1', async () => {
    const w = await world();
    // The collector refuses every request holding a span of one run (as it does for content it cannot
    // take): delivery splits the batch by run, so only that run is refused and the others still go.
    const refusedRun = HISTORY_RUNS[3] as string;
    w.receiver.respondWith((request) =>
      request.spans.some((s) => s.attributes['assistants.run.id'] === refusedRun)
        ? { status: 400, headers: { 'content-type': 'application/x-protobuf' }, body: encodeRpcStatus(3, 'span 0: attribute key must not be empty') }
        : undefined,
    );
    const result = await runCli(['export', '--thread', 'thread_history', '--max-spans-per-batch', '10', '--progress', 'none', ...QUICK], { env: env(w), timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^error: \d+ spans refused by the collector \(HTTP 400\): collector answered HTTP 400: span 0: attribute key must not be empty$/m);
    const expected = expectedSpans(w, { threads: ['thread_history'], runIds: HISTORY_RUNS.filter((id) => id !== refusedRun) });
    expect(w.receiver.spans().map((s) => s.spanId).sort()).toEqual(expected.map((s) => s.spanId).sort());
    expect(result.stdout).toMatch(/spans not delivered \(see above\)/);
  });

  it('a thread or run that does not exist is reported and the others exported: exit 1, also when it is the only one', async () => {
    const w = await world();
    const two = await runCli(['export', '--thread', 'thread_nope', '--thread', 'thread_history', '--run', 'run_h01', '--progress', 'none'], { env: env(w) });
    // --run takes exactly one thread: a usage error, nothing done.
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/--run: a run belongs to one thread: give exactly one --thread \(got 2\)/);

    const partly = await runCli(['export', '--thread', 'thread_nope', '--thread', 'thread_many', '--progress', 'none', ...QUICK], { env: env(w), timeoutMs: 60_000 });
    expect(partly.code, partly.stderr).toBe(1);
    expect(partly.stderr).toMatch(/^error: thread_nope: list runs of thread_nope: HTTP 404/m);
    expect(new Set(w.receiver.spans().map((s) => s.attributes['assistants.run.id'])).size).toBe(120);

    // Not found is a fact about the data, not a failure to run: exit 1 also when it is all there was.
    const none = await runCli(['export', '--thread', 'thread_history', '--run', 'run_nope', '--progress', 'none'], { env: env(w) });
    expect(none.code, none.stderr).toBe(1);
    expect(none.stderr).toMatch(/^error: thread_history: get run run_nope of thread_history: HTTP 404/m);
    const alone = await runCli(['export', '--thread', 'thread_nope', '--progress', 'none'], { env: env(w) });
    expect(alone.code, alone.stderr).toBe(1);
    expect(alone.stderr).toMatch(/^error: thread_nope: list runs of thread_nope: HTTP 404/m);
    expect(alone.stdout).toMatch(/1 records or runs not exported/);
    // The only thread cannot be read for another reason (the answer is not an API listing): exit 3.
    w.sim.faults.add({ kind: 'malformed-json', match: { operation: 'listRuns' } });
    const unreadable = await runCli(['export', '--thread', 'thread_history', '--progress', 'none', ...QUICK], { env: env(w), timeoutMs: 60_000 });
    expect(unreadable.code, unreadable.stderr).toBe(3);
    expect(unreadable.stderr).toMatch(/^error: thread_history: list runs of thread_history: /m);
  });

  it('credentials refused: stops at once with what to check, exit 3, the key never printed', async () => {
    const w = await startWorld({ scenario: historyScenario(), auth: { kind: 'bearer', token: 'sk-right-key' } });
    const result = await runCli(['export', '--thread', 'thread_history', '--progress', 'none'], { env: env(w, { OPENAI_API_KEY: 'sk-wrong-key-123' }) });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toMatch(/export: stopped: list runs of thread_history: the API refused the credentials \(HTTP 401.*Check: OPENAI_API_KEY/);
    expect(`${result.stdout}${result.stderr}`).not.toContain('sk-wrong-key-123');
    expect(w.receiver.requests).toEqual([]);
  });

  it('--dry-run: reads every page and prints the traces as waterfalls; sends nothing', async () => {
    const w = await world();
    const result = await runCli(['export', '--thread', 'thread_history', '--dry-run', '--progress', 'none', ...QUICK], { env: env(w), timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(w.receiver.requests).toEqual([]);
    expect(result.stdout).toMatch(/^run_long · thread_history · /m);
    expect(result.stdout).toMatch(/^invoke_agent \S+ +█+ +4m1\ds completed/m);
    expect(result.stdout).toContain('export (dry run): 31 of 31 finished runs from 1 thread, ');
    for (const line of result.stdout.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
  });

  it.each([
    [['export'], /export: name a thread: --thread ID/],
    [['export', '--thread', 't', '--since', 'last tuesday'], /--since: expected an ISO 8601 date or time/],
    [['export', '--thread', 't', '--since', '2026-05-02', '--until', '2026-05-01'], /--since 2026-05-02 is not before --until 2026-05-01/],
    [['export', '--thread', 't', '--run', 'r', '--since', '2026-05-01'], /--run: names one run; --since and --until select/],
    [['export', '--thread', 't', '--progress', 'fancy'], /--progress: expected auto, bar, lines, none, got "fancy"/],
    // An id goes into the URL path: one that is not an id is refused where it is given, as POST /v1/watch refuses it.
    [['export', '--thread', 'bad/id'], /--thread: "bad\/id" is not an API object id/],
    [['export', '--thread', 't', '--run', '../x'], /--run: "\.\.\/x" is not an API object id/],
    [['runs', 'list', '--thread', 'a b'], /--thread: "a b" is not an API object id/],
  ])('usage errors exit 2 and say what was wrong: %j', async (args, message) => {
    const dir = await tempDir();
    const result = await runCli(args, { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9' }, cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('a --threads-file line that is not a thread id is named by file and line', async () => {
    const dir = await tempDir();
    const file = join(dir, 'threads.txt');
    await writeFile(file, 'thread_ok\nthread/../x\n');
    const result = await runCli(['export', '--threads-file', file], { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`assistants-otel --threads-file: ${file}:2: "thread/../x" is not a thread id (letters, digits, _ . : -)`);
  });

  it('an empty --threads-file says so', async () => {
    const dir = await tempDir();
    const file = join(dir, 'threads.txt');
    await writeFile(file, '# nothing yet\n\n');
    const result = await runCli(['export', '--threads-file', file], { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file} holds none`);
  });
});
