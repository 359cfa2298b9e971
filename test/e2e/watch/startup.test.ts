/**
 * The sidecar's logs a person can follow and its errors that teach: one start-up line saying what
 * is watched, where it exports and where it listens; one info line per exported run; `GET
 * /v1/watch`; and refusals for a command line that cannot mean anything.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { baseEnv, cleanupAll, outputOf, registrationUrl, startWatch, startWorld, subjectOf, waitUntil } from './helpers.js';

afterEach(cleanupAll);

describe('watch: start-up, progress and refusals', () => {
  it('one start-up line: what is watched, the API, where it exports, the state, the listening URL', async () => {
    const world = await startWorld();
    const cli = startWatch(world, ['--memory-state'], { threads: ['thread_one', 'thread_two'] });
    const base = await registrationUrl(cli);
    const started = await cli.waitForOutput(/INFO +sidecar started .*/, { stream: 'stderr' });
    expect(started.match?.[0]).toBe(
      `INFO  sidecar started threads=2 runs=0 mode=batch api=${world.sim.url}/ export_to=${world.receiver.url}/v1/traces state=memory listen=${base} version=0.1.0`,
    );
    // In that order: what the state held, the endpoint, then the summary.
    const order = ['watching component=poller threads=0 runs=0 from=state', 'registration endpoint listening', 'sidecar started'].map((m) => cli.stderr().indexOf(m));
    expect(order.every((i) => i >= 0), cli.stderr()).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(await cli.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('GET /v1/watch lists what is watched; one info line per exported run (thread, run, status, spans, lag)', async () => {
    const world = await startWorld();
    const thread = world.sim.createThread();
    const other = world.sim.createThread();
    const cli = startWatch(world, ['--memory-state'], { threads: [thread.id] });
    const base = await registrationUrl(cli);
    const watched = await fetch(`${base}/v1/watch`);
    expect(watched.status).toBe(200);
    expect(await watched.json()).toEqual({ threads: [{ thread_id: thread.id, runs_since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), last_activity_at: expect.any(String) }], runs: [] });

    const run = world.sim.startRun(other.id, 'every-tool');
    const posted = await fetch(`${base}/v1/watch`, { method: 'POST', body: JSON.stringify({ thread_id: other.id, run_id: run.id }) });
    expect(posted.status).toBe(201);
    const listed = (await (await fetch(`${base}/v1/watch`)).json()) as { threads: Array<{ thread_id: string }>; runs: Array<{ thread_id: string; run_id: string }> };
    expect(listed.threads.map((t) => t.thread_id)).toEqual([thread.id]);
    expect(listed.runs).toEqual([{ thread_id: other.id, run_id: run.id }]);

    const logged = await cli.waitForOutput(new RegExp(`INFO +run exported component=poller thread_id=${other.id} run_id=${run.id} status=completed spans=(\\d+) lag_ms=-?\\d+`), {
      stream: 'stderr',
      timeoutMs: 20_000,
    });
    const spans = world.receiver.spans().filter((s) => subjectOf(s).runId === run.id);
    expect(Number(logged.match?.[1])).toBe(spans.length);
    await waitUntil(async () => ((await (await fetch(`${base}/v1/watch`)).json()) as { runs: unknown[] }).runs.length === 0, { what: 'the exported run no longer watched', details: () => outputOf(cli) });
    expect(await cli.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('start-up failures exit 2 and name the flag: the state file locked by another sidecar, the --listen port in use', async () => {
    const world = await startWorld();
    const state = `${world.dir}/state.json`;
    const first = startWatch(world, ['--state', state, '--thread', 'thread_a']);
    const base = await registrationUrl(first);
    const locked = await runCli(['watch', '--state', state, '--thread', 'thread_a'], { env: baseEnv(world) });
    expect(locked.code, locked.stderr).toBe(2);
    expect(locked.stderr).toMatch(new RegExp(`^assistants-otel --state: state file ${state.replace(/[.]/g, '\\.')} is in use by pid \\d+ on host .*Is another assistants-otel watch running on it\\?`, 'm'));
    const port = new URL(base).port;
    const busy = await runCli(['watch', '--memory-state', '--thread', 'thread_a', '--listen', `127.0.0.1:${port}`], { env: baseEnv(world) });
    expect(busy.code, busy.stderr).toBe(2);
    expect(busy.stderr).toContain(`assistants-otel --listen: cannot listen on 127.0.0.1:${port}: the port is in use (another sidecar?)`);
    expect(await first.kill('SIGTERM'), outputOf(first)).toEqual({ code: 0, signal: null });
  });

  it('no API configured: a warning says the default is OpenAI\'s, switched off, and what to set', async () => {
    const world = await startWorld();
    const result = await runCli(['watch', '--memory-state'], { env: { ...baseEnv(world), OPENAI_BASE_URL: undefined } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/WARN +no API configured \(OPENAI_BASE_URL, AZURE_AI_PROJECT_ENDPOINT, AZURE_OPENAI_ENDPOINT or --base-url\): using https:\/\/api\.openai\.com\/v1, where OpenAI switched the Assistants API off on 2026-08-26; set OPENAI_BASE_URL to your server/);
    const configured = await runCli(['watch', '--memory-state'], { env: baseEnv(world) });
    expect(configured.stderr).not.toContain('no API configured');
  });

  it('nothing to watch and no --listen: says so and exits 2', async () => {
    const world = await startWorld();
    const result = await runCli(['watch', '--memory-state'], { env: baseEnv(world) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/watch: nothing to watch: give --thread ID, --threads-file FILE or --run THREAD:RUN, or --listen \[HOST:\]PORT to register threads over HTTP$/m);
    const state = `${world.dir}/state.json`;
    const withState = await runCli(['watch', '--state', state], { env: baseEnv(world) });
    expect(withState.code).toBe(2);
    expect(withState.stderr).toContain(`(the state file ${state} holds none)`);
  });

  it.each([
    [['--memory-state', '--state', '/tmp/x.json', '--thread', 't'], /watch: --memory-state and --state contradict each other/],
    [['--memory-state', '--thread', 't', '--poll-interval=-5s'], /--poll-interval: must not be negative, got "-5s"/],
    [['--memory-state', '--thread', 't', '--poll-interval', '-1s'], /--poll-interval: got "-1s", which starts with "-": write --poll-interval=-1s if that is the value meant/],
    [['--memory-state', '--thread', 't', '--poll-interval', '2'], /--poll-interval: needs a unit, e.g. "2s" or "2ms"/],
    [['--memory-state', '--thread', 't', '--poll-interval', '30d'], /--poll-interval: must be at most 24d/],
    [['--memory-state', '--thread', 't', '--otlp-endpoint', 'localhost:4318'], /--otlp-endpoint: expected an http:\/\/ or https:\/\/ URL, got "localhost:4318"; did you mean "http:\/\/localhost:4318"\?/],
  ])('%j is refused before any request', async (args, message) => {
    const world = await startWorld();
    const result = await runCli(['watch', ...args], { env: baseEnv(world) });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(world.sim.requests).toEqual([]);
  });

  it('compound durations are accepted', async () => {
    const world = await startWorld();
    const cli = startWatch(world, ['--memory-state', '--idle-ttl', '1h30m', '--max-idle-interval', '1m30s'], { threads: ['thread_x'] });
    await cli.waitForOutput(/sidecar started/, { stream: 'stderr' });
    expect(await cli.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
