/**
 * `assistants-otel demo` (what `npm start` runs), as a newcomer sees it: no key, no collector, ends by
 * itself, and prints each trace as a waterfall that fits 80 columns. With OTEL_EXPORTER_OTLP_ENDPOINT
 * set, the same traces also reach that collector.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** The demo scenario: 7 runs (4 threads), 25 spans; one run failed, one expired, one cancelled, one incomplete. */
const RUNS = 7;
const SPANS = 25;

function blocks(stdout: string): string[][] {
  // Each trace: a header "run_… · thread_… · date", a "model · tokens" line, then its rows.
  return stdout
    .split('\n\n')
    .map((b) => b.split('\n').filter((l) => l !== ''))
    .filter((b) => /^run_\w+ · thread_\w+/.test(b[0] ?? ''));
}

describe('assistants-otel demo (end to end)', () => {
  it('plays the scenario, prints every trace as a waterfall within 80 columns, and exits 0 by itself', async () => {
    const result = await runCli(['demo'], { timeoutMs: 90_000 });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    for (const line of lines) expect([...line].length, JSON.stringify(line)).toBeLessThanOrEqual(80);
    expect(result.stdout).not.toMatch(/\u001b/); // not a terminal: no colours, statuses as words

    const traces = blocks(result.stdout);
    expect(traces).toHaveLength(RUNS);
    for (const trace of traces) {
      // The simulator's long ids leave no room for the start time on the first line: it leads the
      // second, whole (never cut), before the model and the tokens.
      expect(trace[0]).not.toContain('…');
      expect(trace[1]).toMatch(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ · )?gpt-4o · \d+ input \+ \d+ output tokens$/);
      // The run row: a full bar on its own time axis, a duration, its status and its tokens.
      expect(trace[2]).toMatch(/^invoke_agent \S+ +█{23} +\d+s (completed|failed|expired|cancelled|incomplete) +\d+ tok$/);
      // Steps and tool calls under it, each bar somewhere on that axis.
      const rows = trace.slice(3).filter((l) => !l.trimStart().startsWith('✗'));
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row).toMatch(/^[│ ]*[├└] \S.* [·█]{23} +\d+s/);
    }
    const statuses = traces.map((t) => /█ +\d+s (\w+)/.exec(t[2] ?? '')?.[1]).sort();
    expect(statuses).toEqual(['cancelled', 'completed', 'completed', 'completed', 'expired', 'failed', 'incomplete']);

    // The failed run says why, once.
    const failed = traces.find((t) => / failed /.test(t[2] ?? '')) ?? [];
    expect(failed[3]).toBe('  ✗ server_error: Sorry, something went wrong.');
    expect(failed.filter((l) => l.includes('✗'))).toHaveLength(1);
    // Tool calls (code interpreter, file search, functions) appear under their steps.
    expect(result.stdout).toMatch(/│ └ execute_tool get_weather/);
    expect(result.stdout).toMatch(/execute_tool (file_search|code_inter)/);

    expect(lines[0]).toBe('assistants-otel demo');
    expect(result.stdout).toMatch(new RegExp(`^${RUNS} runs exported as traces \\(${SPANS} spans\\) in [\\d.]+s, using \\d+ API requests\\.$`, 'm'));
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT set, the traces go to that collector, printed as acknowledged, with IDs new for each demo run', async () => {
    receiver = await startOtlpReceiver();
    const result = await runCli(['demo', '--speed', '40'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, timeoutMs: 90_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`  OTLP     to ${receiver.url}/v1/traces`);
    expect(receiver.spans()).toHaveLength(SPANS);
    expect(new Set(receiver.spans().map((s) => s.traceId)).size).toBe(RUNS);
    // What was printed is what the collector acknowledged.
    expect(blocks(result.stdout)).toHaveLength(RUNS);
    expect(result.stdout).toMatch(new RegExp(`${RUNS} runs exported as traces \\(${SPANS} spans\\)`));
    expect(result.stdout).toContain("  IDs      new for this demo run, so your backend keeps each demo's traces apart");

    // A second demo to the same backend: IDs of its own, so the backend does not merge the two.
    const first = receiver.spans();
    const again = await runCli(['demo', '--speed', '40'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, timeoutMs: 90_000 });
    expect(again.code, again.stderr).toBe(0);
    const second = receiver.spans().slice(first.length);
    expect(second).toHaveLength(SPANS);
    const firstTraces = new Set(first.map((x) => x.traceId));
    expect(second.filter((x) => firstTraces.has(x.traceId))).toEqual([]);
    const firstSpans = new Set(first.map((x) => x.spanId));
    expect(second.filter((x) => firstSpans.has(x.spanId))).toEqual([]);
  });

  it('a collector that is not there: said after 10 s, not only at the timeout; the summary wraps, never cut', async () => {
    receiver = await startOtlpReceiver();
    const gone = receiver.url;
    await receiver.close();
    receiver = undefined;
    const result = await runCli(['demo', '--speed', '40', '--timeout', '13s'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: gone }, timeoutMs: 90_000 });
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(lines.some((l) => l.includes('…')), 'a sentence was cut').toBe(false);
    const text = lines.join(' ').replace(/\s+/g, ' ');
    expect(text).toContain(`Nothing acknowledged yet by the collector at ${gone}/v1/traces after 10s: is it running? Retrying until --timeout (13s).`);
    expect(text).toContain(`The collector at ${gone}/v1/traces did not acknowledge every run within 13s: is it running?`);
    // The demo keeps no state: its log does not promise a resend after a restart.
    expect(result.stderr).toMatch(/delivery stopped before the collector acknowledged \d+ spans; they are not delivered \(no state is kept for a restart\)/);
    expect(result.stderr).not.toContain('exported again after restart');
  });

  it('a usage error names the flag', async () => {
    const result = await runCli(['demo', '--speed', 'fast']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--speed: expected a positive number, got "fast"');
  });
});
