/**
 * The `watch` command line: `--help` documents every flag; a bad flag is a usage error (exit 2) that
 * names it, before any request is made; `--threads-file` and `--run` say what to watch.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { baseEnv, cleanupAll, outputOf, startWatch, startWorld, subjectOf, waitUntil } from './helpers.js';

afterEach(cleanupAll);

/** The flags src/cli/watch.ts accepts. */
const FLAGS = [
  '--thread', '--threads-file', '--run', '--backfill', '--poll-interval', '--max-idle-interval', '--idle-ttl', '--live',
  '--drain-timeout', '--state', '--memory-state', '--listen', '--log-format', '--log-level', '--otlp-endpoint',
  '--otlp-protocol', '--capture-content', '--content-max-length', '--provider', '--base-url', '--api-version',
  '--token-command', '--max-concurrency', '--max-rps', '--help',
];

describe('watch command line', () => {
  it('--help documents every flag', async () => {
    const result = await runCli(['watch', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: assistants-otel watch \[options\]/);
    for (const flag of FLAGS) expect(result.stdout, flag).toMatch(new RegExp(`${flag}\\b`));
    expect(result.stderr).toBe('');
  });

  it.each([
    [['--listen', 'nope'], /--listen: expected \[HOST:\]PORT/],
    [['--listen', '70000'], /--listen: expected \[HOST:\]PORT/],
    [['--run', 'no-colon'], /--run: expected THREAD:RUN/],
    [['--log-level', 'loud'], /--log-level: expected debug, info, warn or error/],
    [['--log-format', 'xml'], /--log-format: expected json or text/],
    [['--poll-interval', 'fast'], /--poll-interval: expected a duration/],
    [['--drain-timeout', 'soon'], /--drain-timeout: expected a duration/],
    [['--threads-file', '/nonexistent/threads.txt'], /--threads-file: cannot read \/nonexistent\/threads.txt/],
    [['--otlp-protocol', 'grpc2'], /--otlp-protocol: expected "http\/protobuf", "http\/json" or "grpc", got "grpc2"/],
    [['--max-retry-delay', '30d'], /--max-retry-delay: at most 24\.8 days \(2\^31-1 ms, Node's timer limit\), e\.g\. 24d, got "30d"/],
    [['--max-queued-spans', '0'], /--max-queued-spans: expected a whole number of spans ≥ 1/],
    [['--bogus'], /unknown option '--bogus'/],
  ])('%j is a usage error naming the flag', async (args, message) => {
    const world = await startWorld();
    const result = await runCli(['watch', '--memory-state', '--thread', 'thread_a', ...args], { env: baseEnv(world) });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(world.sim.requests).toEqual([]);
  });

  it('--threads-file and --run say what to watch', async () => {
    const world = await startWorld();
    const [a, b, c] = [world.sim.createThread(), world.sim.createThread(), world.sim.createThread()];
    const file = join(world.dir, 'threads.txt');
    await writeFile(file, `# threads to watch\n${a.id}\n\n  ${b.id}   # the second one\n`);
    const single = world.sim.startRun(c.id, 'message');
    const cli = startWatch(world, ['--memory-state', '--threads-file', file, '--run', `${c.id}:${single.id}`], { threads: [] });
    await cli.waitForOutput(/sidecar started threads=2 runs=1/, { stream: 'stderr' });
    const runs = [world.sim.startRun(a.id, 'message'), world.sim.startRun(b.id, 'message'), single];
    await waitUntil(() => runs.every((run) => world.receiver.spans().some((s) => subjectOf(s).kind === 'run' && subjectOf(s).runId === run.id)), {
      what: 'the three runs exported',
      details: () => outputOf(cli),
    });
    expect(await cli.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
