/**
 * One poisoned thread beside four healthy ones (README "Delivery"): the collector refuses every
 * request that holds a span of the poisoned run (400, as a collector does for content it cannot
 * take). The sidecar bisects each refused batch by run, sets the poisoned run aside (written to
 * rejected/, counted in /metrics), delivers all four healthy threads, and marks the poisoned run
 * done, so that after a restart on the same state it is not exported again.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, countById, expectedSpans, metricValue, outputOf, registrationUrl, simRequests, startWatch, startWorld, waitForEverything, waitUntil } from './helpers.js';

afterEach(cleanupAll);

const HEALTHY = ['thread_h1', 'thread_h2', 'thread_h3', 'thread_h4'];
const POISONED = 'thread_poison';

describe('a poisoned thread beside four healthy ones', () => {
  it('delivers all four, sets the poisoned run aside once, and never exports it again after a restart', async () => {
    const world = await startWorld({
      scenario: {
        name: 'poison',
        threads: [...HEALTHY, POISONED].map((id, i) => ({ id, runs: [{ id: `run_${id.slice(7)}`, startAt: i, template: 'every-tool' as const }] })),
      },
    });
    const poisonRun = 'run_poison';
    // Runs start a scenario second apart; a slow first answer lets the others queue up behind it, so
    // that the poisoned run shares a batch with healthy ones and has to be found by bisection.
    world.script = (request, index) =>
      request.spans.some((s) => s.attributes['assistants.run.id'] === poisonRun)
        ? { status: 400, headers: { 'content-type': 'text/plain' }, body: 'invalid span data' }
        : index === 0
          ? { status: 200, delayMs: 1_000 }
          : undefined;
    const state = join(world.dir, 'state.json');

    const first = startWatch(world, ['--state', state]);
    const url = await registrationUrl(first);
    const healthy = await waitForEverything(world, { threads: HEALTHY, extraDetails: () => outputOf(first) });
    const poisonSpans = expectedSpans(world, { threads: [POISONED] });
    expect(poisonSpans.length).toBeGreaterThan(0);
    const rejectedDir = join(world.dir, 'rejected');
    const files = await waitUntil(async () => (await readdir(rejectedDir).catch(() => [])).length > 0 && readdir(rejectedDir), { what: 'the poisoned run written aside', details: () => outputOf(first) });

    // All four healthy threads, whole, once each; nothing of the poisoned run accepted.
    const accepted = world.receiver.spans();
    expect(accepted.map((s) => s.spanId).sort()).toEqual(healthy.map((s) => s.spanId).sort());
    expect([...countById(accepted)].filter(([, n]) => n > 1)).toEqual([]);
    expect(files).toHaveLength(1);
    const mixed = world.receiver.requests.filter((r) => r.status === 400 && new Set(r.spans.map((x) => x.attributes['assistants.run.id'])).size > 1);
    expect(mixed.length, 'a refused batch held healthy runs too (they were delivered by bisection)').toBeGreaterThan(0);
    const aside = JSON.parse(await readFile(join(rejectedDir, files[0] as string), 'utf8')) as { reason: string; status: number; spans: number };
    expect(aside).toMatchObject({ reason: 'collector answered HTTP 400: invalid span data', status: 400, spans: poisonSpans.length });

    const metrics = await waitUntil(async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      // The receiver has the spans before the sidecar has settled their acknowledgement: wait for both counts.
      const settled = metricValue(text, 'assistants_otel_spans_set_aside_total') === poisonSpans.length && metricValue(text, 'assistants_otel_exported_total', '{kind="run"}') === HEALTHY.length;
      return settled ? text : undefined;
    }, { what: 'the set-aside spans and the exported runs counted', details: () => outputOf(first) });
    expect(metricValue(metrics, 'assistants_otel_exported_total', '{kind="run"}')).toBe(HEALTHY.length);
    expect(metricValue(metrics, 'assistants_otel_exported_total', '{kind="span"}')).toBe(healthy.length);
    expect(first.stderr()).toMatch(/ERROR collector refused spans; set aside .*run_ids=\["run_poison"\].*reason="collector answered HTTP 400: invalid span data"/);
    // The run's own line says it was set aside, with why; never "run exported" (B5).
    await waitUntil(() => /run set aside/.test(first.stderr()), { what: 'the set-aside run logged', details: () => outputOf(first) });
    expect(first.stderr()).toMatch(new RegExp(`WARN\\s+run set aside, not exported: the collector refused it .*run_id=${poisonRun} .*spans=${poisonSpans.length} reason="collector answered HTTP 400: invalid span data"`));
    expect(first.stderr()).not.toMatch(new RegExp(`run exported .*run_id=${poisonRun}\\b`));
    expect(await first.kill('SIGTERM'), outputOf(first)).toEqual({ code: 0, signal: null });

    // Restart on the same state: the poisoned run was settled (set aside), so it is not sent again.
    const requestsBefore = world.receiver.requests.length;
    const listsBefore = simRequests(world.sim, 'listRuns').length;
    const second = startWatch(world, ['--state', state]);
    await second.waitForOutput(/sidecar started/, { stream: 'stderr' });
    await waitUntil(() => simRequests(world.sim, 'listRuns').length >= listsBefore + 2 * (HEALTHY.length + 1), { what: 'two rounds of discovery after the restart', details: () => outputOf(second) });
    const later = world.receiver.requests.slice(requestsBefore);
    expect(later.flatMap((r) => r.spans).filter((s) => s.attributes['assistants.run.id'] === poisonRun)).toEqual([]);
    expect(await readdir(rejectedDir)).toHaveLength(1);
    expect(await second.kill('SIGTERM'), outputOf(second)).toEqual({ code: 0, signal: null });
  });
});
