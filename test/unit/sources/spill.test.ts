/**
 * The spill file (README `import`, "Streaming and memory"): records written in extents come back as
 * they were, data quirks and negative zeros included, so a run read back maps to the same spans; the
 * file is gone from the directory as soon as it is open, and closing is idempotent.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRunTerminal, isStepTerminal } from '../../../src/api/lifecycle.js';
import { recordQuirks } from '../../../src/api/quirks.js';
import { mapRunToSpans } from '../../../src/mapping/run-to-spans.js';
import { encodeRecord, SpillFile, type SpilledRecord } from '../../../src/sources/spill.js';
import { T0, codeInterpreterCall, functionCall, run, step, toolCallsStep, validRun, validStep } from '../../fixtures/records.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'assistants-otel-spill-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SpillFile', () => {
  it('gives back what it was given, extent by extent, with quirks and -0 intact: the same spans', async () => {
    const parent = await mkdtemp(join(dir, 'p-'));
    const spill = new SpillFile(parent);
    // Milliseconds (a quirk), a negative zero, text with every kind of character.
    const r = validRun(run({ created_at: T0 * 1000, temperature: -0, instructions: 'line\nbreak "quoted" \u2028 ✓ \u0000' }));
    const steps = [validStep(step({ id: 'step_a' })), validStep(toolCallsStep([functionCall(), codeInterpreterCall()], { completed_at: (T0 + 9) * 1000 }))];
    expect(recordQuirks(r)).not.toEqual([]);
    const first: SpilledRecord[] = [{ kind: 'run', record: r, terminal: isRunTerminal(r) }];
    const second: SpilledRecord[] = steps.map((s) => ({ kind: 'step', record: s, terminal: isStepTerminal(s) }));
    const a = spill.write(first.map(encodeRecord));
    const b = spill.write(second.map(encodeRecord));
    expect(b.offset).toBe(a.offset + a.length);
    expect(spill.size).toBe(a.length + b.length);
    // The directory is empty while the file is in use: nothing to leave behind, however the process ends.
    expect(await readdir(parent)).toEqual([]);

    const back = [...spill.read(b), ...spill.read(a)];
    expect(back.map((x) => x.record)).toEqual([...steps, r]);
    expect(back.map((x) => recordQuirks(x.record))).toEqual([...steps, r].map((x) => recordQuirks(x)));
    expect(Object.is((back[2]?.record as typeof r).temperature, -0)).toBe(true);
    const record = { runId: r.id, run: back[2]?.record as typeof r, steps: back.slice(0, 2).map((x) => x.record as (typeof steps)[number]) };
    expect(mapRunToSpans(record, { captureContent: true })).toEqual(mapRunToSpans({ runId: r.id, run: r, steps }, { captureContent: true }));

    spill.close();
    spill.close();
    expect(() => spill.read(a)).toThrow(/closed/);
  });

  it('names the directory it could not use', () => {
    expect(() => new SpillFile(join(dir, 'missing', 'deeper'))).toThrow(/cannot create a spill file under .*missing\/deeper: ENOENT/);
  });
});
