import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { builtInScenarios, createSimulator, DEFAULT_MANUAL_BASE_EPOCH_SECONDS, loadScenario, ScenarioError, type ApiStep, type ScenarioInput, type Simulator } from '../../src/simulator/index.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function writeScenario(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sim-scenario-')), 'scenario.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const problems = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected an error');
};

describe('scenarios', () => {
  it('loads every built-in by name, and many-threads:NxM', () => {
    for (const name of builtInScenarios) expect(loadScenario(name).threads.length).toBeGreaterThan(0);
    const many = loadScenario('many-threads:7x3');
    expect(many.threads).toHaveLength(7);
    expect(many.threads.every((t) => t.runs.length === 3)).toBe(true);
  });

  it('loads a JSON file and plays it', async () => {
    const file = writeScenario({
      name: 'from-file',
      threads: [{ id: 'thread_file', runs: [{ id: 'run_file', steps: [{ type: 'message_creation', text: 'hi' }] }] }],
    });
    sim = await createSimulator({ scenario: file });
    await sim.runUntilIdle();
    expect(sim.run('thread_file', 'run_file')?.status).toBe('completed');
  });

  it('names the file and every bad field path', () => {
    const file = writeScenario({
      threads: [
        {
          runs: [
            {
              steps: [
                { type: 'tool_calls', toolCalls: [{ type: 'function', name: 5 }] },
                { type: 'message_creation', durationSeconds: -1 },
                { type: 'tool_calls', toolCalls: [{ type: 'code_interpreter', input: 'x', outputs: [{ type: 'video' }] }] },
              ],
              outcome: { status: 'exploded' },
              colour: 'red',
            },
          ],
        },
      ],
    });
    const message = problems(() => loadScenario(file));
    expect(message).toContain(file);
    expect(message).toContain('threads[0].runs[0].steps[0].toolCalls[0].name');
    expect(message).toContain('threads[0].runs[0].steps[1].durationSeconds');
    expect(message).toContain('threads[0].runs[0].steps[2].toolCalls[0].outputs[0].type');
    expect(message).toContain('threads[0].runs[0].outcome.status');
    expect(message).toContain('unknown field(s) "colour"');
  });

  it('explains files that are missing or not JSON', () => {
    expect(problems(() => loadScenario('/nonexistent/scenario.json'))).toMatch(/not a built-in scenario .* and not a readable file/);
    expect(problems(() => loadScenario(writeScenario('{ nope')))).toMatch(/not valid JSON/);
  });

  it('rejects scripts that cannot be played, naming the field', async () => {
    const overlapping: ScenarioInput = {
      threads: [{ runs: [{ steps: [{ type: 'message_creation', durationSeconds: 5 }, { type: 'message_creation', at: 3 }] }] }],
    };
    await expect(createSimulator({ scenario: overlapping })).rejects.toThrow(/threads\[0\]\.runs\[0\]\.steps\[1\]\.at: must be >= 6/);
    const tooLong: ScenarioInput = { threads: [{ runs: [{ expiresAfterSeconds: 10, steps: [{ type: 'message_creation', durationSeconds: 20 }] }] }] };
    await expect(createSimulator({ scenario: tooLong })).rejects.toThrow(/threads\[0\]\.runs\[0\]\.expiresAfterSeconds: the run would expire/);
    const unknownTemplate: ScenarioInput = { threads: [{ runs: [{ template: 'nope' }] }] };
    await expect(createSimulator({ scenario: unknownTemplate })).rejects.toThrow(ScenarioError);
  });

  it('runs with a negative startAt are history: terminal at second 0', async () => {
    sim = await createSimulator({ scenario: 'many-threads:3x2', baseEpochSeconds: 1_800_000_000 });
    expect(sim.state.runs.length).toBeLessThan(6); // later runs have not started yet
    await sim.close();
    sim = await createSimulator({ scenario: { threads: [{ id: 'thread_h', runs: [{ id: 'run_h', startAt: -100, template: 'every-tool' }] }] }, baseEpochSeconds: 1_800_000_000 });
    expect(sim.run('thread_h', 'run_h')).toMatchObject({ status: 'completed', created_at: 1_800_000_000 - 100 });
  });

  it('has the promised contents: long-run 250 steps; demo every type and ending; unknown-types and malformed shapes', async () => {
    sim = await createSimulator({ scenario: 'demo' });
    await sim.runUntilIdle();
    const runs = sim.state.runs;
    expect(new Set(runs.map((r) => r.status))).toEqual(new Set(['completed', 'failed', 'cancelled', 'expired', 'incomplete']));
    const calls = sim.state.steps.flatMap((s: ApiStep) => (s.step_details.type === 'tool_calls' ? s.step_details.tool_calls.map((c) => c.type) : []));
    expect(new Set(calls)).toEqual(new Set(['function', 'code_interpreter', 'file_search']));
    expect(new Set(sim.state.steps.map((s) => s.type))).toEqual(new Set(['message_creation', 'tool_calls']));
    expect(sim.requests).toHaveLength(0);
    await sim.close();

    sim = await createSimulator({ scenario: 'long-run' });
    await sim.runUntilIdle();
    expect(sim.steps('run_longrun')).toHaveLength(250);
    await sim.close();

    sim = await createSimulator({ scenario: 'unknown-types' });
    await sim.runUntilIdle();
    const unknown = sim.steps('run_unknowntypes') as unknown as Record<string, unknown>[]; // unknown shapes on purpose
    expect(unknown.map((s) => s['type'])).toEqual(['activities', 'tool_calls', 'message_creation']);
    expect(JSON.stringify(unknown[1])).toContain('"type":"bing_grounding"');
    expect(unknown[2]).toHaveProperty('x_content_filter_results');
    // D1: a deadline named expires_at, next to expired_at that stays null because nothing expired.
    expect(unknown[2]).toMatchObject({ expires_at: DEFAULT_MANUAL_BASE_EPOCH_SECONDS + 600, expired_at: null, status: 'completed' });
    expect(sim.run('thread_unknowntypes', 'run_unknowntypes')).toHaveProperty('tool_resources', {});
  });
});
