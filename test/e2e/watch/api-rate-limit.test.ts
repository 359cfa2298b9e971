/**
 * A 429 storm from the API, each answer with `Retry-After: 1`: the sidecar obeys it and loses
 * nothing.
 *
 * "Obeys": for each 429, the next request of the same operation (the simulator's operation id:
 * `listRuns`, `getRun`, `listRunSteps`) that could have known of it arrives no earlier than
 * Retry-After after the 429 was answered. The storm's 429s are answered 50 ms late, and on a loaded
 * machine later still (the simulator's delay is a timer in the test's process): a request arriving
 * before the 429 actually went out (`answeredAtMs`, not arrival + 50 ms) was sent before the sidecar
 * could know of it (concurrent, not disobedient) and is not counted. The client's own hold starts
 * when it sees the 429, which is after it was answered, so "Retry-After after the answer" is the
 * least a request must wait (less a few ms of timer granularity).
 *
 * The storm lasts about 6.5 s, longer than the client's six attempts at one request take (about
 * 5.5 s at Retry-After 1), so it also covers what happens once those attempts are used up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, countById, formatTree, outputOf, scenario, startWatch, startWorld, waitForEverything } from './helpers.js';

afterEach(cleanupAll);

const RETRY_AFTER_MS = 1_000;
const ANSWER_DELAY_MS = 50;
/** Timers fire on whole milliseconds, and the two processes' clocks are read at slightly different points. */
const TIMER_SLACK_MS = 5;
/** Requests arriving this soon after a 429 went out may have been sent before the client saw it. */
const IN_FLIGHT_MARGIN_MS = 150;
const STORM_MS = 6_500;
const SCALE = 25; // ms per scenario second

describe('watch under an API 429 storm', () => {
  it('obeys Retry-After and loses nothing', async () => {
    const world = await startWorld({ scenario: scenario('demo'), timeScaleMillisPerSecond: SCALE });
    const cli = startWatch(world, ['--memory-state']);
    await cli.waitForOutput(/sidecar started/, { stream: 'stderr' });
    const from = world.sim.now;
    world.sim.faults.add({
      kind: 'rate-limit',
      retryAfterSeconds: RETRY_AFTER_MS / 1000,
      delayMs: ANSWER_DELAY_MS,
      label: 'storm',
      match: { fromSecond: from, untilSecond: from + STORM_MS / SCALE },
    });

    const expected = await waitForEverything(world, { timeoutMs: 25_000, extraDetails: () => outputOf(cli) });
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });

    const requests = world.sim.requests;
    const limited = requests.filter((r) => r.status === 429);
    expect(limited.length, 'the storm answered 429s').toBeGreaterThanOrEqual(6);
    expect(cli.stderr()).toMatch(/API request will be retried .*reason="HTTP 429 rate_limit_exceeded".*retry_after_ms=1000/);

    const describeRequest = (r: (typeof requests)[number]) => `${r.operation} ${r.path}${Object.keys(r.query).length ? `?${new URLSearchParams(r.query as Record<string, string>).toString()}` : ''}`;
    const sameRequestTooSoon: string[] = [];
    const sameOperationTooSoon: string[] = [];
    for (const r of limited) {
      const later = requests.filter((n) => n !== r && n.receivedAtMs > r.receivedAtMs);
      // The client's retry of this very request.
      const answeredAt = r.answeredAtMs ?? r.receivedAtMs + ANSWER_DELAY_MS;
      const retry = later.find((n) => describeRequest(n) === describeRequest(r));
      if (retry && retry.receivedAtMs - answeredAt < RETRY_AFTER_MS - TIMER_SLACK_MS) {
        sameRequestTooSoon.push(`${describeRequest(r)}: 429 at ${Math.round(r.receivedAtMs)} ms, answered at ${Math.round(answeredAt)} ms, sent again ${Math.round(retry.receivedAtMs - answeredAt)} ms after the answer`);
      }
      // Any later request of the same operation that could have known of the 429. One that arrives a
      // few ms after the answer went out may have left the client before the client read that answer
      // (a loaded machine delays both): only requests arriving IN_FLIGHT_MARGIN_MS after it count. A
      // client that ignored the hold would still be caught, by requests later in the second.
      const next = later.find((n) => n.operation === r.operation && n.receivedAtMs > answeredAt + IN_FLIGHT_MARGIN_MS);
      if (next && next.receivedAtMs - answeredAt < RETRY_AFTER_MS - TIMER_SLACK_MS) {
        sameOperationTooSoon.push(
          `${describeRequest(r)}: 429 at ${Math.round(r.receivedAtMs)} ms (Retry-After 1 s, answered at +${Math.round(answeredAt - r.receivedAtMs)} ms), then ${describeRequest(next)} ${Math.round(next.receivedAtMs - answeredAt)} ms after the answer`,
        );
      }
    }
    const evidence = cli.stderr().split('\n').filter((l) => /gave up|will try again/.test(l)).slice(0, 5).join('\n');
    expect.soft(sameRequestTooSoon, `a request retried before its Retry-After\n${evidence}`).toEqual([]);
    expect.soft(sameOperationTooSoon, `requests of an operation sent within Retry-After of a 429 to that operation\n${evidence}`).toEqual([]);

    // Nothing lost, nothing twice.
    const received = world.receiver.spans();
    expect([...countById(received)].filter(([, n]) => n > 1), formatTree(received)).toEqual([]);
    expect(received.length).toBe(expected.length);
    expect(world.check.violations).toEqual([]);
  });
});
