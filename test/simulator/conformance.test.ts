// Spec conformance: everything the simulator returns for well-formed scenarios is validated against
// the official schemas in shared/spec/openapi.json, at many moments of the runs' lives.
//
// Exceptions, each asserted exactly rather than skipped:
// - D9: an empty list has `first_id`/`last_id` null (as observed on OpenAI list endpoints); the
//   schema types them as strings. The only violations allowed on an empty list are those two.
// - D4: `nullable: true` is honoured (see spec-validator.ts), as the API's nulls require.
// - D1/D2: steps carry `expired_at` and `metadata` as the schema requires (no exception needed).
// Records a scenario breaks on purpose (the `malformed` and `unknown-types` scenarios, and
// `inject-record` faults) are excluded by construction: those scenarios are not validated as
// conforming here; instead the last test proves the validator flags exactly their broken parts.
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, FILE_SEARCH_CONTENT_INCLUDE, type Simulator } from '../../src/simulator/index.js';
import { call, parseSse } from './helpers.js';
import { SpecValidator, type Violation } from './spec-validator.js';

const validator = new SpecValidator();
let sim: Simulator;
afterEach(async () => {
  await sim.close();
});

interface Checked {
  what: string;
  violations: Violation[];
}

/** Fetches every list and object the API serves for the current state and validates each. */
async function checkEverything(): Promise<Checked[]> {
  const out: Checked[] = [];
  const check = (what: string, body: unknown, schema: string) => {
    const isEmptyList = typeof body === 'object' && body !== null && (body as { data?: unknown[] }).data?.length === 0; // list envelope
    let violations = validator.validate(body, schema);
    if (isEmptyList) violations = violations.filter((v) => !(['$.first_id', '$.last_id'].includes(v.path) && v.message === 'expected string, got null'));
    out.push({ what, violations });
  };
  const include = `include[]=${encodeURIComponent(FILE_SEARCH_CONTENT_INCLUDE)}`;
  for (const thread of sim.state.threads) {
    check(`thread ${thread.id}`, (await call(sim, `/threads/${thread.id}`)).body, 'ThreadObject');
    check(`messages ${thread.id}`, (await call(sim, `/threads/${thread.id}/messages?limit=100`)).body, 'ListMessagesResponse');
    check(`runs ${thread.id}`, (await call(sim, `/threads/${thread.id}/runs?limit=100`)).body, 'ListRunsResponse');
    for (const run of sim.recordsFor(thread.id)?.runs ?? []) {
      const base = `/threads/${thread.id}/runs/${run.run.id}`;
      check(`run ${run.run.id}`, (await call(sim, base)).body, 'RunObject');
      check(`steps ${run.run.id}`, (await call(sim, `${base}/steps?limit=100`)).body, 'ListRunStepsResponse');
      check(`steps+content ${run.run.id}`, (await call(sim, `${base}/steps?limit=100&${include}`)).body, 'ListRunStepsResponse');
      for (const step of run.steps) check(`step ${step.id}`, (await call(sim, `${base}/steps/${step.id}?${include}`)).body, 'RunStepObject');
    }
  }
  return out;
}

function expectConforming(results: Checked[]): void {
  const failures = results.filter((r) => r.violations.length > 0);
  expect(failures, JSON.stringify(failures.slice(0, 3), null, 2)).toEqual([]);
}

describe('conformance to the official schemas', () => {
  it('every-type: every record at every moment, from creation to idle', async () => {
    sim = await createSimulator({ scenario: 'every-type' });
    let checked = 0;
    for (const t of [0, 1, 2, 4, 6, 7, 9, 11, 13, 21, 24, 31, 35, 41, 52, 60]) {
      await sim.advanceTo(t);
      const results = await checkEverything();
      checked += results.length;
      expectConforming(results);
    }
    await sim.runUntilIdle();
    expectConforming(await checkEverything());
    expect(checked).toBeGreaterThan(200);
  });

  it('demo and long-run, played to the end', async () => {
    for (const scenario of ['demo', 'long-run']) {
      sim = await createSimulator({ scenario });
      await sim.advanceTo(12);
      expectConforming(await checkEverything());
      await sim.runUntilIdle();
      expectConforming(await checkEverything());
      await sim.close();
    }
    sim = await createSimulator();
  });

  it('error bodies and streamed event data', async () => {
    sim = await createSimulator({ runScript: 'every-tool', requireBetaHeader: true });
    expect(validator.validate((await call(sim, '/threads/nope/runs')).body, 'ErrorResponse')).toEqual([]);
    const headers = { 'OpenAI-Beta': 'assistants=v2', 'content-type': 'application/json' };
    expect(validator.validate((await call(sim, '/threads/nope/runs', { headers })).body, 'ErrorResponse')).toEqual([]);
    const created = await fetch(`${sim.url}/threads/runs`, { method: 'POST', headers, body: JSON.stringify({ assistant_id: 'asst_1', stream: true }) });
    await sim.runUntilIdle();
    const schemaFor = (event: string) =>
      event === 'thread.created' ? 'ThreadObject'
        : event === 'thread.run.step.delta' ? 'RunStepDeltaObject'
          : event.startsWith('thread.run.step.') ? 'RunStepObject'
            : event === 'thread.message.delta' ? 'MessageDeltaObject'
              : event.startsWith('thread.message.') ? 'MessageObject'
                : 'RunObject';
    const events = parseSse(await created.text()).filter((e) => e.event !== 'done');
    expect(events.length).toBeGreaterThan(15);
    for (const e of events) expect({ event: e.event, violations: validator.validate(JSON.parse(e.data), schemaFor(e.event)) }).toEqual({ event: e.event, violations: [] });
  });

  it('flags exactly the deliberately broken records of malformed and unknown-types', async () => {
    sim = await createSimulator({ scenario: 'malformed' });
    await sim.runUntilIdle();
    const page = (await call<{ data: unknown[] }>(sim, '/threads/thread_malformed/runs/run_malformed/steps?order=asc')).body;
    const perStep = page.data.map((step) => validator.validate(step, 'RunStepObject').map((v) => v.path));
    expect(perStep[0]).toEqual([]);
    expect(perStep[1]).toEqual(['$.run_id']);
    expect(perStep[2]).toEqual(['$']);
    expect(perStep[3]).toContain('$.step_details.tool_calls[0].function.name');
    expect(perStep[4]).toEqual([]);
    expect(perStep[5]).toEqual([]);
    expect(perStep[6]).toEqual(['$.created_at']);
    expect(perStep).toHaveLength(7);
    await sim.close();

    sim = await createSimulator({ scenario: 'unknown-types' });
    await sim.runUntilIdle();
    const steps = (await call<{ data: unknown[] }>(sim, '/threads/thread_unknowntypes/runs/run_unknowntypes/steps?order=asc')).body.data;
    expect(validator.validate(steps[0], 'RunStepObject').map((v) => v.path)).toEqual(expect.arrayContaining(['$.type', '$.step_details']));
    expect(validator.validate(steps[1], 'RunStepObject').some((v) => v.path === '$.step_details.tool_calls[0]')).toBe(true);
    expect(validator.validate(steps[2], 'RunStepObject')).toEqual([]); // extra fields are allowed
    const d5 = (await call(sim, '/threads/thread_unknowntypes/runs/run_instructionsnull')).body;
    expect(validator.validate(d5, 'RunObject')).toEqual([{ path: '$.instructions', message: 'expected string, got null' }]);
  });
});
