import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, DEFAULT_MANUAL_BASE_EPOCH_SECONDS, type ApiList, type ApiRun, type ApiStep, type Simulator } from '../../src/simulator/index.js';
import { call, type ErrorBody } from './helpers.js';

const T0 = DEFAULT_MANUAL_BASE_EPOCH_SECONDS;
let sim: Simulator;
afterEach(async () => {
  await sim.close();
});

const getRun = async (threadId: string, runId: string) => (await call<ApiRun>(sim, `/threads/${threadId}/runs/${runId}`)).body;
const listSteps = async (threadId: string, runId: string) => (await call<ApiList<ApiStep>>(sim, `/threads/${threadId}/runs/${runId}/steps?order=asc`)).body.data;

describe('run lifecycle under the manual clock', () => {
  it('moves queued → in_progress → requires_action → (client submits) → completed, with steps and usage', async () => {
    sim = await createSimulator({ scenario: { threads: [{ id: 'thread_a', runs: [{ id: 'run_a', template: 'function-client' }] }] } });
    let run = await getRun('thread_a', 'run_a');
    expect(run).toMatchObject({ status: 'queued', created_at: T0, started_at: null, usage: null, required_action: null, expires_at: T0 + 600 });
    expect(await listSteps('thread_a', 'run_a')).toEqual([]);

    await sim.advance(1);
    run = await getRun('thread_a', 'run_a');
    expect(run).toMatchObject({ status: 'in_progress', started_at: T0 + 1 });
    const [fnStep] = await listSteps('thread_a', 'run_a');
    expect(fnStep).toMatchObject({ status: 'in_progress', created_at: T0 + 1, usage: null, completed_at: null, failed_at: null, cancelled_at: null, expired_at: null });
    expect(fnStep?.step_details).toMatchObject({ type: 'tool_calls', tool_calls: [{ type: 'function', function: { name: 'get_weather', output: null } }] });

    await sim.advance(1);
    run = await getRun('thread_a', 'run_a');
    expect(run.status).toBe('requires_action');
    const calls = run.required_action?.submit_tool_outputs.tool_calls ?? [];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lisbon","unit":"celsius"}' } });

    // Nothing happens while the client thinks, however long.
    await sim.advance(30);
    expect((await getRun('thread_a', 'run_a')).status).toBe('requires_action');

    const submitted = await call<ApiRun>(sim, '/threads/thread_a/runs/run_a/submit_tool_outputs', {
      json: { tool_outputs: [{ tool_call_id: calls[0]?.id, output: '{"c":21}' }] },
    });
    expect(submitted.status).toBe(200);
    expect(submitted.body).toMatchObject({ status: 'queued', required_action: null, usage: null });
    const afterSubmit = await listSteps('thread_a', 'run_a');
    expect(afterSubmit[0]).toMatchObject({ status: 'completed', completed_at: T0 + 32 });
    expect(afterSubmit[0]?.usage).not.toBeNull();
    expect(afterSubmit[0]?.step_details).toMatchObject({ tool_calls: [{ function: { output: '{"c":21}' } }] });

    await sim.runUntilIdle();
    run = await getRun('thread_a', 'run_a');
    const steps = await listSteps('thread_a', 'run_a');
    expect(run.status).toBe('completed');
    expect(steps.map((s) => [s.type, s.status])).toEqual([
      ['tool_calls', 'completed'],
      ['message_creation', 'completed'],
    ]);
    // The script's spacing resumes after the wait: in_progress 1 s after submission, message 1 s long, completion 1 s later.
    expect(steps[1]).toMatchObject({ created_at: T0 + 33, completed_at: T0 + 34 });
    expect(run).toMatchObject({ completed_at: T0 + 35, expires_at: null, started_at: T0 + 1 });
    const sum = (k: 'prompt_tokens' | 'completion_tokens' | 'total_tokens') => steps.reduce((n, s) => n + (s.usage?.[k] ?? 0), 0);
    expect(run.usage).toEqual({ prompt_tokens: sum('prompt_tokens'), completion_tokens: sum('completion_tokens'), total_tokens: sum('total_tokens') });
  });

  it('keeps every timestamp consistent across all terminal kinds', async () => {
    sim = await createSimulator({ scenario: 'every-type' });
    expect(sim.state.upcomingRuns).toBe(4); // runs scripted to start later are not listed yet
    expect(sim.state.runs).toHaveLength(2);
    expect(sim.idle).toBe(false);
    await sim.runUntilIdle();
    expect(sim.idle).toBe(true); // only the run waiting for a client is left
    const all = [...(sim.recordsFor('thread_everytype_a')?.runs ?? []), ...(sim.recordsFor('thread_everytype_b')?.runs ?? [])];
    const byId = Object.fromEntries(all.map((r) => [r.run.id, r]));
    expect(Object.fromEntries(all.map((r) => [r.run.id, r.run.status]))).toEqual({
      run_everytool: 'completed',
      run_failed: 'failed',
      run_incomplete: 'incomplete',
      run_cancelled: 'cancelled',
      run_expired: 'expired',
      run_waiting: 'requires_action',
    });
    for (const { run, steps } of all) {
      const end = run.completed_at ?? run.failed_at ?? run.cancelled_at ?? (run.status === 'expired' ? run.expires_at : null);
      if (run.status !== 'requires_action') expect(end).not.toBeNull();
      expect(run.started_at ?? run.created_at).toBeGreaterThanOrEqual(run.created_at);
      for (const step of steps) {
        expect(step.created_at).toBeGreaterThanOrEqual(run.started_at ?? run.created_at);
        const stepEnd = step.completed_at ?? step.failed_at ?? step.cancelled_at ?? step.expired_at;
        if (step.status === 'in_progress') expect(stepEnd).toBeNull();
        else expect(stepEnd).toBeGreaterThanOrEqual(step.created_at);
        if (end !== null && stepEnd !== null) expect(stepEnd).toBeLessThanOrEqual(end);
        // expired_at only on expired steps; usage only on terminal steps.
        expect(step.expired_at !== null).toBe(step.status === 'expired');
        expect(step.usage === null).toBe(step.status === 'in_progress');
      }
    }
    expect(byId['run_failed']?.run.last_error).toEqual({ code: 'server_error', message: 'Sorry, something went wrong.' });
    expect(byId['run_failed']?.steps[0]).toMatchObject({ status: 'failed', last_error: { code: 'server_error' } });
    expect(byId['run_incomplete']?.run.incomplete_details).toEqual({ reason: 'max_completion_tokens' });
    expect(byId['run_cancelled']?.steps[0]).toMatchObject({ status: 'cancelled' });
    expect(byId['run_expired']?.steps[0]).toMatchObject({ status: 'expired', expired_at: byId['run_expired']?.run.expires_at });
    expect(byId['run_waiting']?.run.usage).toBeNull();
  });

  it('cancels a run over HTTP: cancelling now, cancelled a second later, its step cancelled', async () => {
    sim = await createSimulator({ scenario: { threads: [{ id: 'thread_c', runs: [{ id: 'run_c', steps: [{ type: 'message_creation', durationSeconds: 60 }] }] }] } });
    await sim.advance(5);
    const cancelling = await call<ApiRun>(sim, '/threads/thread_c/runs/run_c/cancel', { method: 'POST' });
    expect(cancelling.body.status).toBe('cancelling');
    await sim.advance(1);
    const run = await getRun('thread_c', 'run_c');
    expect(run).toMatchObject({ status: 'cancelled', cancelled_at: T0 + 6, expires_at: null });
    expect((await listSteps('thread_c', 'run_c'))[0]).toMatchObject({ status: 'cancelled', cancelled_at: T0 + 6, completed_at: null });
    const again = await call<ErrorBody>(sim, '/threads/thread_c/runs/run_c/cancel', { method: 'POST' });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toBe("Cannot cancel run with status 'cancelled'.");
  });

  it('creates runs over HTTP that progress by themselves, and refuses a second active run', async () => {
    sim = await createSimulator();
    const thread = await call<{ id: string }>(sim, '/threads', { json: { messages: [{ role: 'user', content: 'hi' }] } });
    const created = await call<ApiRun>(sim, `/threads/${thread.body.id}/runs`, {
      json: { assistant_id: 'asst_x', metadata: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
    });
    expect(created.body).toMatchObject({ status: 'queued', assistant_id: 'asst_x', metadata: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    const second = await call<ErrorBody>(sim, `/threads/${thread.body.id}/runs`, { json: { assistant_id: 'asst_x' } });
    expect(second.status).toBe(400);
    expect(second.body.error.message).toBe(`Thread ${thread.body.id} already has an active run ${created.body.id}.`);
    await sim.runUntilIdle();
    expect((await getRun(thread.body.id, created.body.id)).status).toBe('completed');
    const messages = await call<ApiList<{ role: string; content: { text: { value: string } }[] }>>(sim, `/threads/${thread.body.id}/messages?order=asc`);
    expect(messages.body.data.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('rejects bad submissions in the API’s words', async () => {
    sim = await createSimulator({ scenario: { threads: [{ id: 'thread_s', runs: [{ id: 'run_s', template: 'function-client' }] }] } });
    const early = await call<ErrorBody>(sim, '/threads/thread_s/runs/run_s/submit_tool_outputs', { json: { tool_outputs: [] } });
    expect(early.status).toBe(400);
    expect(early.body.error.message).toBe('Runs in status "queued" do not accept tool outputs.');
    await sim.advance(2);
    const wrong = await call<ErrorBody>(sim, '/threads/thread_s/runs/run_s/submit_tool_outputs', { json: { tool_outputs: [{ tool_call_id: 'call_nope', output: 'x' }] } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.param).toBe('tool_outputs');
    const missing = await call<ErrorBody>(sim, '/threads/thread_s/runs/run_s/submit_tool_outputs', { json: {} });
    expect(missing.body.error).toMatchObject({ code: 'missing_required_parameter', param: 'tool_outputs' });
  });

  it('adds work at runtime with sim.startRun, and answers 404 in the API’s wording', async () => {
    sim = await createSimulator();
    const thread = sim.createThread({ metadata: { team: 'x' } });
    const run = sim.startRun(thread.id, 'every-tool', { metadata: { k: 'v' } });
    expect(run.status).toBe('queued');
    expect((await call<ApiList<ApiRun>>(sim, `/threads/${thread.id}/runs`)).body.data.map((r) => r.id)).toEqual([run.id]);
    await sim.runUntilIdle();
    expect(sim.run(thread.id, run.id)?.status).toBe('completed');
    expect(sim.steps(run.id)).toHaveLength(4);

    const noRun = await call<ErrorBody>(sim, `/threads/${thread.id}/runs/run_x`);
    expect(noRun.status).toBe(404);
    expect(noRun.body).toEqual({ error: { message: "No run found with id 'run_x'.", type: 'invalid_request_error', param: null, code: null } });
    expect((await call<ErrorBody>(sim, '/threads/thread_x/runs')).body.error.message).toBe("No thread found with id 'thread_x'.");
    expect((await call<ErrorBody>(sim, `/threads/${thread.id}/runs/${run.id}/steps/step_x`)).status).toBe(404);
    expect((await call<ErrorBody>(sim, '/threads/x/bogus')).body.error.message).toBe('Invalid URL (GET /threads/x/bogus)');
  });

  it('gives the same records for the same scenario and seed, and different IDs for another seed', async () => {
    sim = await createSimulator({ scenario: 'demo' });
    await sim.runUntilIdle();
    const first = JSON.stringify(sim.state);
    await sim.close();
    sim = await createSimulator({ scenario: 'demo' });
    await sim.runUntilIdle();
    expect(JSON.stringify(sim.state)).toBe(first);
    await sim.close();
    sim = await createSimulator({ scenario: 'demo', seed: 'other' });
    await sim.runUntilIdle();
    expect(sim.state.runs[0]?.id).not.toBe(JSON.parse(first).runs[0].id);
  });
});
