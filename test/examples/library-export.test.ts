/**
 * examples/library-export runs as its README says, on this Node (20 in CI), importing the package
 * by its name: against the built-in simulator, to a loopback OTLP receiver. What arrives is exactly
 * what the library's mapping makes of the simulator's records.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunTerminal, mapRunToSpans, validateRun, validateRunStep, type RunStep } from '../../src/index.js';
import { createSimulator } from '../../src/simulator/index.js';
import { cliEnvironment, REPO_ROOT } from '../support/cli.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { comparable, pickComparable, treeProblems } from '../e2e/watch/helpers.js';

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
});

function runNode(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { cwd: REPO_ROOT, env: cliEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The spans of thread_everytype_a's finished runs, from the same scenario played the same way. */
async function expected() {
  const sim = await createSimulator({ scenario: 'every-type' });
  await sim.runUntilIdle();
  const steps: RunStep[] = sim.state.steps.map((raw) => validateRunStep(raw)).flatMap((v) => (v.ok ? [v.value] : []));
  const runs = sim.state.runs.map((raw) => validateRun(raw)).flatMap((v) => (v.ok ? [v.value] : [])).filter((r) => r.thread_id === 'thread_everytype_a' && isRunTerminal(r));
  await sim.close();
  return runs.flatMap((run) => mapRunToSpans({ runId: run.id, run, steps: steps.filter((s) => s.run_id === run.id) }, { providerName: 'openai' }));
}

describe('examples/library-export', () => {
  it('export-thread.mjs backfills a thread against the simulator: every span, as the mapping makes it', async () => {
    receiver = await startOtlpReceiver();
    const result = await runNode(join('examples', 'library-export', 'export-thread.mjs'), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    expect(result.code, result.stderr).toBe(0);
    const spans = await expected();
    expect(spans.length).toBeGreaterThan(5);
    expect(result.stdout).toBe(`thread_everytype_a: 3 finished runs of 3 → ${spans.length} of ${spans.length} spans delivered to ${receiver.url}\n`);
    const bySpanId = <T extends { spanId?: string }>(a: T, b: T) => ((a.spanId ?? '') < (b.spanId ?? '') ? -1 : 1);
    expect(receiver.spans().map(pickComparable).sort(bySpanId)).toEqual(spans.map(comparable).sort(bySpanId));
    expect(treeProblems(receiver.spans())).toEqual([]);
    // The resource the example chose.
    expect(new Set(receiver.spans().map((s) => s.resource['service.name']))).toEqual(new Set(['my-agent-backfill']));
  });
});
