/**
 * `assistants-otel steps list|get` and `runs list|get` as a user runs them: the built CLI as a child
 * process, pointed with `OPENAI_BASE_URL` (or the Azure variables) at the protocol simulator over
 * loopback HTTP. Every field is available (`--output json|jsonl`, `--fields`, unknown fields
 * included); errors go to stderr with a non-zero exit; no secret is ever printed.
 *
 * Needs `npm run build` first (`npm test` does it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type ApiRun, type ApiStep, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { killAllStartedClis, runCli, type CliResult } from '../support/cli.js';

const KEY = 'sk-e2e-SECRETKEY-0123456789abcdefABCDEF';
const AZURE_KEY = 'AZURE-SECRETKEY-0123456789abcdef01234';
const TOKEN = 'foundry-SECRETTOKEN-0123456789abcdefghijkl';
const SECRETS = [KEY, AZURE_KEY, TOKEN];
const INCLUDE = 'step_details.tool_calls[*].file_search.results[*].content';

const A = 'thread_everytype_a';
const EVERY_TOOL = 'run_everytool';

const dir = mkdtempSync(path.join(tmpdir(), 'assistants-otel-query-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let sim: Simulator | undefined;
afterEach(async () => {
  await killAllStartedClis();
  await sim?.close();
  sim = undefined;
});

/** A simulator that wants the OpenAI key and the beta header, played to its end. */
async function simulator(scenario: NonNullable<SimulatorOptions['scenario']>, options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  sim = await createSimulator({ clock: 'manual', scenario, prefix: '/v1', auth: { kind: 'bearer', token: KEY }, requireBetaHeader: true, ...options });
  await sim.runUntilIdle();
  return sim;
}

const openaiEnv = (s: Simulator): Record<string, string> => ({ OPENAI_BASE_URL: s.url, OPENAI_API_KEY: KEY });

/** Runs the CLI; whatever happens, no secret may appear in what it printed. */
async function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const result = await runCli(args, { env });
  for (const secret of SECRETS) {
    expect(result.stdout, 'a secret on stdout').not.toContain(secret);
    expect(result.stderr, 'a secret on stderr').not.toContain(secret);
  }
  return result;
}

function json<T>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

function jsonLines<T>(result: CliResult): T[] {
  expect(result.stdout.endsWith('\n')).toBe(true);
  return result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as T);
}

/** A table's rows as arrays of cells (columns are separated by two or more spaces). */
function table(stdout: string): string[][] {
  return stdout.trimEnd().split('\n').map((line) => line.split(/ {2,}/));
}

describe('steps list', () => {
  it('prints a table by default: the default columns, one row per step, tool names, readable times', async () => {
    const s = await simulator('every-type');
    const result = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const steps = s.steps(EVERY_TOOL);
    const rows = table(result.stdout);
    expect(rows[0]).toEqual(['ID', 'TYPE', 'STATUS', 'CREATED_AT', 'COMPLETED_AT', 'TOOLS', 'USAGE.TOTAL_TOKENS', 'LAST_ERROR.CODE']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(steps.map((st) => st.id));
    expect(rows.slice(1).map((r) => r[5])).toEqual(['code_interpreter', 'file_search', 'get_weather', '-']);
    expect(rows[1]?.slice(1, 5)).toEqual(['tool_calls', 'completed', '2026-01-01T00:00:01Z', '2026-01-01T00:00:04Z']);
    expect(rows[1]?.[6]).toBe(String(steps[0]?.usage?.total_tokens));
    expect(s.requests.map((r) => r.query)).toEqual([{ order: 'asc', limit: '100' }]);
  });

  it('--output json prints one array with every field of every step, as the API sent it', async () => {
    const s = await simulator('every-type');
    const result = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '--output', 'json'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(json<ApiStep[]>(result)).toEqual(s.steps(EVERY_TOOL));
  });

  it('--output jsonl prints one object per line', async () => {
    const s = await simulator('every-type');
    const result = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '-o', 'jsonl'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(jsonLines<ApiStep>(result)).toEqual(s.steps(EVERY_TOOL));
  });

  it('--fields picks the columns (dotted paths reach into objects), in tables and in JSON', async () => {
    const s = await simulator('every-type');
    const fields = 'id,status,usage.total_tokens,step_details.type';
    const tableResult = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '--fields', fields], openaiEnv(s));
    expect(tableResult.code, tableResult.stderr).toBe(0);
    const rows = table(tableResult.stdout);
    expect(rows[0]).toEqual(['ID', 'STATUS', 'USAGE.TOTAL_TOKENS', 'STEP_DETAILS.TYPE']);
    const steps = s.steps(EVERY_TOOL);
    expect(rows.slice(1)).toEqual(steps.map((st) => [st.id, st.status, String(st.usage?.total_tokens), st.step_details.type]));

    const jsonResult = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '--fields', fields, '-o', 'json'], openaiEnv(s));
    expect(json<unknown[]>(jsonResult)).toEqual(
      steps.map((st) => ({ id: st.id, status: st.status, 'usage.total_tokens': st.usage?.total_tokens, 'step_details.type': st.step_details.type })),
    );
    expect(tableResult.stderr + jsonResult.stderr).not.toContain('warning');

    // A path no record has: a column of "-" still, and a warning naming it (a typo, most likely).
    const typo = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '--fields', 'id,nope.x'], openaiEnv(s));
    expect(typo.code, typo.stderr).toBe(0);
    expect(table(typo.stdout).slice(1).map((row) => row[1])).toEqual(steps.map(() => '-'));
    expect(typo.stderr.trim().split('\n')).toEqual(["warning: --fields nope.x: no record shown has this field (fields are the API's names, dotted for nested ones: usage.total_tokens; * shows every field)"]);
  });

  it('--fields "*" shows every top-level field', async () => {
    const s = await simulator('every-type');
    const result = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '--fields', '*'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(table(result.stdout)[0]).toEqual(Object.keys(s.steps(EVERY_TOOL)[0] as object).map((k) => k.toUpperCase()));
  });

  it('fetches every page of a 250-step run, following `after` with limit=100', async () => {
    const s = await simulator('long-run');
    const result = await cli(['steps', 'list', '--thread', 'thread_longrun', '--run', 'run_longrun', '-o', 'jsonl'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    const printed = jsonLines<ApiStep>(result);
    expect(printed).toHaveLength(250);
    expect(printed).toEqual(s.steps('run_longrun'));
    expect(s.requests.map((r) => r.query)).toEqual([
      { order: 'asc', limit: '100' },
      { order: 'asc', limit: '100', after: printed[99]?.id },
      { order: 'asc', limit: '100', after: printed[199]?.id },
    ]);
  });

  it('--limit and --order: the newest 150, asking for 100 then 50', async () => {
    const s = await simulator('long-run');
    const result = await cli(['steps', 'list', '--thread', 'thread_longrun', '--run', 'run_longrun', '--order', 'desc', '--limit', '150', '-o', 'json'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(json<ApiStep[]>(result).map((st) => st.id)).toEqual(s.steps('run_longrun').reverse().slice(0, 150).map((st) => st.id));
    expect(s.requests.map((r) => [r.query['order'], r.query['limit']])).toEqual([
      ['desc', '100'],
      ['desc', '50'],
    ]);
  });

  it('--include-file-search-content sends include[] and prints the content; without it neither', async () => {
    const s = await simulator('every-type');
    const plain = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '-o', 'json'], openaiEnv(s));
    expect(plain.stdout).not.toContain('"content"');
    const withContent = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '--include-file-search-content', '-o', 'json'], openaiEnv(s));
    expect(withContent.code, withContent.stderr).toBe(0);
    expect(json<ApiStep[]>(withContent)).toEqual(s.steps(EVERY_TOOL, { includeFileSearchContent: true }));
    expect(withContent.stdout).toContain('"content"');
    expect(s.requests.map((r) => r.query['include[]'])).toEqual([undefined, INCLUDE]);
  });
});

describe('steps get', () => {
  it('--output json prints one object; jsonl one line; the table shows every field, one per line', async () => {
    const s = await simulator('every-type');
    const step = s.steps(EVERY_TOOL, { includeFileSearchContent: true })[1] as ApiStep;
    const args = ['steps', 'get', '--thread', A, '--run', EVERY_TOOL, '--step', step.id, '--include-file-search-content'];

    const asJson = await cli([...args, '-o', 'json'], openaiEnv(s));
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(json<ApiStep>(asJson)).toEqual(step);

    const asJsonl = await cli([...args, '-o', 'jsonl'], openaiEnv(s));
    expect(jsonLines<ApiStep>(asJsonl)).toEqual([step]);

    const asTable = await cli(args, openaiEnv(s));
    expect(asTable.code, asTable.stderr).toBe(0);
    const lines = table(asTable.stdout);
    expect(lines.map((l) => l[0])).toEqual(Object.keys(step));
    expect(lines.find((l) => l[0] === 'id')?.[1]).toBe(step.id);
    expect(lines.find((l) => l[0] === 'step_details')?.[1]).toBe(JSON.stringify(step.step_details)); // nothing cut
    expect(s.requests.map((r) => [r.operation, r.query['include[]']])).toEqual([
      ['getRunStep', INCLUDE],
      ['getRunStep', INCLUDE],
      ['getRunStep', INCLUDE],
    ]);
  });

  it('--fields on get projects the object', async () => {
    const s = await simulator('every-type');
    const step = s.steps(EVERY_TOOL)[2] as ApiStep;
    const result = await cli(['steps', 'get', '--thread', A, '--run', EVERY_TOOL, '--step', step.id, '--fields', 'id,tools,usage.total_tokens', '-o', 'json'], openaiEnv(s));
    expect(json<unknown>(result)).toEqual({ id: step.id, tools: 'get_weather', 'usage.total_tokens': step.usage?.total_tokens });
  });
});

describe('runs list and get', () => {
  it('runs list: a table of the default columns; JSON with every field; jsonl', async () => {
    const s = await simulator('every-type');
    const runs = s.recordsFor(A)?.runs.map((r) => r.run) as ApiRun[];

    const asTable = await cli(['runs', 'list', '--thread', A], openaiEnv(s));
    expect(asTable.code, asTable.stderr).toBe(0);
    const rows = table(asTable.stdout);
    expect(rows[0]).toEqual(['ID', 'STATUS', 'ASSISTANT_ID', 'MODEL', 'CREATED_AT', 'COMPLETED_AT', 'USAGE.TOTAL_TOKENS', 'LAST_ERROR.CODE']);
    expect(rows.slice(1).map((r) => [r[0], r[1]])).toEqual([
      ['run_everytool', 'completed'],
      ['run_failed', 'failed'],
      ['run_incomplete', 'incomplete'],
    ]);
    expect(rows[2]?.[7]).toBe('server_error');

    const asJson = await cli(['runs', 'list', '--thread', A, '-o', 'json'], openaiEnv(s));
    expect(json<ApiRun[]>(asJson)).toEqual(runs);
    const asJsonl = await cli(['runs', 'list', '--thread', A, '-o', 'jsonl', '--order', 'desc', '--limit', '2'], openaiEnv(s));
    expect(jsonLines<ApiRun>(asJsonl)).toEqual(runs.slice().reverse().slice(0, 2));
    expect(s.requests.map((r) => r.query)).toEqual([
      { order: 'asc', limit: '100' },
      { order: 'asc', limit: '100' },
      { order: 'desc', limit: '2' },
    ]);
  });

  it('runs get: one object with every field; --fields projects it', async () => {
    const s = await simulator('every-type');
    const asJson = await cli(['runs', 'get', '--thread', A, '--run', 'run_failed', '-o', 'json'], openaiEnv(s));
    expect(asJson.code, asJson.stderr).toBe(0);
    expect(json<ApiRun>(asJson)).toEqual(s.run(A, 'run_failed'));
    const picked = await cli(['runs', 'get', '--thread', A, '--run', 'run_failed', '--fields', 'id,status,last_error.code', '-o', 'json'], openaiEnv(s));
    expect(json<unknown>(picked)).toEqual({ id: 'run_failed', status: 'failed', 'last_error.code': 'server_error' });
    const asTable = await cli(['runs', 'get', '--thread', A, '--run', 'run_failed'], openaiEnv(s));
    expect(table(asTable.stdout).map((l) => l[0])).toEqual(Object.keys(s.run(A, 'run_failed') as object));
  });
  it('a thread with no runs (first_id and last_id null): an empty table, an empty array, no lines; exit 0', async () => {
    const s = await simulator({ threads: [{ id: 'thread_empty' }] });
    const asTable = await cli(['runs', 'list', '--thread', 'thread_empty'], openaiEnv(s));
    expect(asTable.code, asTable.stderr).toBe(0);
    expect(table(asTable.stdout)).toEqual([['ID', 'STATUS', 'ASSISTANT_ID', 'MODEL', 'CREATED_AT', 'COMPLETED_AT', 'USAGE.TOTAL_TOKENS', 'LAST_ERROR.CODE']]);
    const asJson = await cli(['runs', 'list', '--thread', 'thread_empty', '-o', 'json'], openaiEnv(s));
    expect(json<unknown[]>(asJson)).toEqual([]);
    const asJsonl = await cli(['runs', 'list', '--thread', 'thread_empty', '-o', 'jsonl'], openaiEnv(s));
    expect(asJsonl.code).toBe(0);
    expect(asJsonl.stdout).toBe('');
  });
});

describe('a server with records we do not know (unknown-types)', () => {
  const T = 'thread_unknowntypes';
  const R = 'run_unknowntypes';

  it('unknown step types, tool call types and extra fields appear in JSON output, untouched', async () => {
    const s = await simulator('unknown-types');
    const steps = await cli(['steps', 'list', '--thread', T, '--run', R, '-o', 'json'], openaiEnv(s));
    expect(steps.code, steps.stderr).toBe(0);
    expect(steps.stderr).toBe('');
    const printed = json<ApiStep[]>(steps);
    expect(printed).toEqual(s.steps(R));
    expect(printed[0]).toMatchObject({ type: 'activities', step_details: { type: 'activities' }, expires_at: expect.any(Number) });
    expect(printed[2]).toMatchObject({ x_content_filter_results: { hate: { filtered: false } } });

    const runs = await cli(['runs', 'list', '--thread', T, '-o', 'jsonl'], openaiEnv(s));
    const printedRuns = jsonLines<Record<string, unknown>>(runs);
    expect(printedRuns[0]).toMatchObject({ x_azure_region: 'swedencentral', tool_resources: {} });
    expect(printedRuns[1]).toMatchObject({ instructions: null });
  });

  it('unknown fields can be selected with --fields, in tables and JSON; unknown tool calls show by type', async () => {
    const s = await simulator('unknown-types');
    const runs = await cli(['runs', 'list', '--thread', T, '--fields', 'id,x_azure_region'], openaiEnv(s));
    expect(runs.code, runs.stderr).toBe(0);
    expect(table(runs.stdout)).toEqual([
      ['ID', 'X_AZURE_REGION'],
      ['run_unknowntypes', 'swedencentral'],
      ['run_instructionsnull', '-'],
    ]);
    const runsJson = await cli(['runs', 'list', '--thread', T, '--fields', 'id,x_azure_region', '-o', 'json'], openaiEnv(s));
    expect(json<unknown>(runsJson)).toEqual([
      { id: 'run_unknowntypes', x_azure_region: 'swedencentral' },
      { id: 'run_instructionsnull', x_azure_region: null },
    ]);

    const steps = await cli(['steps', 'list', '--thread', T, '--run', R, '--fields', 'type,tools,x_content_filter_results.hate.filtered,expires_at'], openaiEnv(s));
    expect(steps.code, steps.stderr).toBe(0);
    expect(table(steps.stdout)).toEqual([
      ['TYPE', 'TOOLS', 'X_CONTENT_FILTER_RESULTS.HATE.FILTERED', 'EXPIRES_AT'],
      ['activities', '-', '-', '2026-01-01T00:10:00Z'],
      ['tool_calls', 'bing_grounding,get_weather', '-', '2026-01-01T00:10:00Z'],
      ['message_creation', '-', 'false', '2026-01-01T00:10:00Z'],
    ]);

    const step = s.steps(R)[2] as ApiStep;
    const one = await cli(['steps', 'get', '--thread', T, '--run', R, '--step', step.id, '--fields', 'id,x_content_filter_results', '-o', 'json'], openaiEnv(s));
    expect(json<unknown>(one)).toEqual({ id: step.id, x_content_filter_results: { hate: { filtered: false } } });
  });
});

describe('a server that sends malformed records (malformed)', () => {
  const T = 'thread_malformed';
  const R = 'run_malformed';

  it.each(['json', 'table'])('--output %s: every item printed as sent, the bad ones named on stderr with their paths, exit 1', async (format) => {
    const s = await simulator('malformed');
    const raw = s.steps(R);
    const result = await cli(['steps', 'list', '--thread', T, '--run', R, '-o', format], openaiEnv(s));
    expect(result.code).toBe(1);
    const stderr = result.stderr.trimEnd().split('\n');
    expect(stderr).toEqual([
      `error: step item 1 (${raw[1]?.id}): run_id: required to place the record in a trace, but missing`,
      expect.stringMatching(/^error: step item 2: \$: expected an object, got a string/),
      expect.stringMatching(new RegExp(`^warning: step item 3 \\(${raw[3]?.id}\\): step_details\\.tool_calls\\[0\\]\\.function\\.name: `)),
      // No time at all is no reason to hide a record, nor to fail: a warning naming the field.
      `warning: step item 6 (${raw[6]?.id}): created_at: missing, and no other usable timestamp: the record is kept and placed at its run's start`,
    ]);
    if (format === 'json') expect(json<unknown[]>(result)).toEqual(raw);
    else expect(table(result.stdout).slice(1).map((r) => r[0])).toEqual(raw.map((st) => (typeof st === 'string' ? `(not an object: "${st}")` : st.id)));
  });

  it('a record injected into an otherwise good page is reported the same way, and shown', async () => {
    const s = await simulator('every-type', { faults: [{ kind: 'inject-record', record: 'step-missing-run-id', position: 'start', match: { operation: 'listRunSteps' } }] });
    const result = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '-o', 'json'], openaiEnv(s));
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd()).toBe('error: step item 0 (step_injected_step_missing_run_id): run_id: required to place the record in a trace, but missing');
    const shown = json<ApiStep[]>(result);
    expect(shown[0]?.id).toBe('step_injected_step_missing_run_id');
    expect(shown.slice(1)).toEqual(s.steps(EVERY_TOOL));
  });

  it('an injected record with no timestamp at all is shown with a warning, and is no failure (exit 0)', async () => {
    const s = await simulator('every-type', { faults: [{ kind: 'inject-record', record: 'step-missing-created-at', position: 'start', match: { operation: 'listRunSteps' } }] });
    const result = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '-o', 'json'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.trimEnd()).toBe(
      "warning: step item 0 (step_injected_step_missing_created_at): created_at: missing, and no other usable timestamp: the record is kept and placed at its run's start",
    );
    const shown = json<Array<Record<string, unknown>>>(result);
    expect(shown[0]).toMatchObject({ id: 'step_injected_step_missing_created_at', completed_at: null });
    expect(shown[0]).not.toHaveProperty('created_at');
    expect(shown.slice(1)).toEqual(s.steps(EVERY_TOOL));
  });

  it('steps get of a record that cannot be placed shows it, with the field on stderr, and exits 1', async () => {
    const s = await simulator('malformed');
    const broken = s.steps(R)[1] as ApiStep;
    const result = await cli(['steps', 'get', '--thread', T, '--run', R, '--step', broken.id, '-o', 'json'], openaiEnv(s));
    expect(result.code).toBe(1);
    expect(json<ApiStep>(result)).toEqual(broken);
    expect(result.stderr).toMatch(/^error: step item 0 \(step_[^)]+\): run_id: required to place the record in a trace, but missing/);
  });

  it('steps get of a record with no time at all shows it with a warning and exits 0; the table prints its missing times as -', async () => {
    const s = await simulator('malformed');
    const untimed = s.steps(R)[6] as ApiStep;
    const result = await cli(['steps', 'get', '--thread', T, '--run', R, '--step', untimed.id, '-o', 'json'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(json<ApiStep>(result)).toEqual(untimed);
    expect(result.stderr).toMatch(/^warning: step item 0 \(step_[^)]+\): created_at: missing, and no other usable timestamp: the record is kept and placed at its run's start$/m);
    const asTable = await cli(['steps', 'get', '--thread', T, '--run', R, '--step', untimed.id, '--fields', 'id,status,created_at,completed_at'], openaiEnv(s));
    expect(asTable.code).toBe(0);
    expect(table(asTable.stdout)).toEqual([['id', untimed.id], ['status', 'completed'], ['created_at', '-'], ['completed_at', '-']]);
  });
});

describe('records with times as real servers send them', () => {
  it('steps list shows every step whatever its times: dates, the unit they came in, and what is not a time', async () => {
    const s = await simulator({
      name: 'odd-times',
      threads: [
        {
          id: 'thread_times',
          runs: [
            {
              id: 'run_times',
              steps: [
                { type: 'message_creation', text: 'fine' },
                // The Prism mock's kind: a negative created_at; placed (and shown) by its completed_at.
                { type: 'message_creation', text: 'negative', patch: { set: { created_at: -28450271, completed_at: 1733050005 } } },
                { type: 'message_creation', text: 'millis', patch: { set: { created_at: 1733050000250, completed_at: 9e12 } } },
                { type: 'message_creation', text: 'absurd', patch: { set: { created_at: 1e300, completed_at: null } } },
              ],
            },
          ],
        },
      ],
    });
    const steps = s.steps('run_times');
    const result = await cli(['steps', 'list', '--thread', 'thread_times', '--run', 'run_times', '--fields', 'id,created_at,completed_at'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0); // the absurd one has no usable time at all: shown, warned about, not a failure
    const rows = table(result.stdout).slice(1);
    expect(rows.map((r) => r[0])).toEqual(steps.map((st) => st.id));
    expect(rows.slice(1).map((r) => r.slice(1))).toEqual([
      ['-28450271 (negative)', '2024-12-01T10:46:45Z'],
      ['2024-12-01T10:46:40.250Z (ms)', '9000000000000 (out of range)'],
      ['1e+300 (out of range)', '-'],
    ]);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `warning: step item 1 (${steps[1]?.id}): created_at: -28450271 is negative: the record is placed at its completed_at instead`,
      `warning: step item 2 (${steps[2]?.id}): completed_at: 9000000000000 is outside 2015-01-01..2100-01-01 even read as milliseconds (field dropped)`,
      `warning: step item 3 (${steps[3]?.id}): created_at: 1e+300 is too large for any time unit, and no other usable timestamp: the record is kept and placed at its run's start`,
    ]);
    const asJson = await cli(['steps', 'list', '--thread', 'thread_times', '--run', 'run_times', '-o', 'json'], openaiEnv(s));
    expect(json<unknown[]>(asJson)).toEqual(steps);
  });

  it('runs list prints a run whose times are past what a Date can hold', async () => {
    const s = await simulator('every-type', {
      faults: [{ kind: 'inject-record', record: { value: { id: 'run_far', object: 'thread.run', thread_id: A, status: 'completed', created_at: 1733050000, completed_at: 8.64e12 + 1 } }, position: 'end', match: { operation: 'listRuns' } }],
    });
    const result = await cli(['runs', 'list', '--thread', A, '--fields', 'id,created_at,completed_at'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(table(result.stdout).find((r) => r[0] === 'run_far')).toEqual(['run_far', '2024-12-01T10:46:40Z', '8640000000001 (out of range)']);
    expect(result.stderr).toMatch(/warning: run item \d+ \(run_far\): completed_at: 8640000000001 is outside/);
  });
});

describe('providers from the environment', () => {
  it('OpenAI-compatible: OPENAI_ORG_ID and OPENAI_PROJECT_ID become headers', async () => {
    const s = await simulator('every-type');
    const result = await cli(['runs', 'get', '--thread', A, '--run', 'run_failed', '-o', 'json'], { ...openaiEnv(s), OPENAI_ORG_ID: 'org_e2e', OPENAI_PROJECT_ID: 'proj_e2e' });
    expect(result.code, result.stderr).toBe(0);
    expect(s.requests[0]?.headers).toMatchObject({ authorization: '<redacted>', 'openai-beta': 'assistants=v2', 'openai-organization': 'org_e2e', 'openai-project': 'proj_e2e' });
  });

  it('Azure OpenAI: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, OPENAI_API_VERSION', async () => {
    const s = await simulator('every-type', { prefix: '/openai', auth: { kind: 'api-key', key: AZURE_KEY }, apiVersion: '2025-04-01-preview', requireBetaHeader: false });
    const result = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '-o', 'json'], {
      AZURE_OPENAI_ENDPOINT: s.origin,
      AZURE_OPENAI_API_KEY: AZURE_KEY,
      OPENAI_API_VERSION: '2025-04-01-preview',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(json<ApiStep[]>(result)).toEqual(s.steps(EVERY_TOOL));
    expect(s.requests[0]).toMatchObject({ path: `/threads/${A}/runs/${EVERY_TOOL}/steps`, query: { 'api-version': '2025-04-01-preview' }, headers: { 'api-key': '<redacted>' } });
  });

  it('Azure Foundry: AZURE_AI_PROJECT_ENDPOINT, a token from ASSISTANTS_OTEL_TOKEN_COMMAND, AZURE_AI_AGENTS_API_VERSION', async () => {
    const prefix = '/api/projects/e2e';
    const s = await simulator('unknown-types', { prefix, auth: { kind: 'bearer', token: TOKEN }, apiVersion: '2025-05-15-preview', requireBetaHeader: false });
    const tokenFile = path.join(dir, 'foundry-token.json');
    writeFileSync(tokenFile, JSON.stringify({ accessToken: TOKEN, expires_on: Math.floor(Date.now() / 1000) + 3600 }));
    const result = await cli(['runs', 'list', '--thread', 'thread_unknowntypes', '-o', 'json'], {
      AZURE_AI_PROJECT_ENDPOINT: `${s.origin}${prefix}`,
      AZURE_AI_AGENTS_API_VERSION: '2025-05-15-preview',
      ASSISTANTS_OTEL_TOKEN_COMMAND: `cat '${tokenFile}'`,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(json<ApiRun[]>(result).map((r) => r.id)).toEqual(['run_unknowntypes', 'run_instructionsnull']);
    expect(s.requests[0]).toMatchObject({ query: { 'api-version': '2025-05-15-preview', order: 'asc', limit: '100' }, headers: { authorization: '<redacted>' } });
  });

  it('a missing api-version is a configuration error naming the variable (exit 2), before any request', async () => {
    const s = await simulator('every-type', { prefix: '/openai', auth: { kind: 'api-key', key: AZURE_KEY }, apiVersion: '2025-04-01-preview' });
    const result = await cli(['runs', 'list', '--thread', A], { AZURE_OPENAI_ENDPOINT: s.origin, AZURE_OPENAI_API_KEY: AZURE_KEY });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/OPENAI_API_VERSION/);
    expect(s.requests).toHaveLength(0);
  });
});

describe('errors: exit non-zero, the error on stderr, nothing on stdout', () => {
  it('an unknown run', async () => {
    const s = await simulator('every-type');
    const result = await cli(['runs', 'get', '--thread', A, '--run', 'run_nosuch'], openaiEnv(s));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^assistants-otel runs: .*run_nosuch.*HTTP 404/);
  });

  it('a refused key: what to check, never the key', async () => {
    const s = await simulator('every-type', { auth: { kind: 'bearer', token: 'sk-another-key-0123456789' } });
    const result = await cli(['steps', 'list', '--thread', A, '--run', EVERY_TOOL], openaiEnv(s));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/refused the credentials \(HTTP 401 invalid_api_key\)\. Check: OPENAI_API_KEY; base URL http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(s.requests).toHaveLength(1);
  });

  it('a refused token from the token command: fetched again once, then what to check', async () => {
    const s = await simulator('every-type', { auth: { kind: 'bearer', token: 'the-right-token-0123456789' } });
    const tokenFile = path.join(dir, 'stale-token.txt');
    writeFileSync(tokenFile, TOKEN);
    const result = await cli(['runs', 'list', '--thread', A], { OPENAI_BASE_URL: s.url, ASSISTANTS_OTEL_TOKEN_COMMAND: `cat '${tokenFile}'` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Check: the token command/);
    expect(s.requests.map((r) => r.status)).toEqual([401, 401]);
  });

  it('a body that is not JSON', async () => {
    const s = await simulator('every-type', { faults: [{ kind: 'malformed-json', match: { operation: 'listRuns' } }] });
    const result = await cli(['runs', 'list', '--thread', A, '-o', 'json'], openaiEnv(s));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/not valid JSON/);
  });

  it.each([
    [['steps', 'list', '--run', EVERY_TOOL], /--thread is required/],
    [['steps', 'get', '--thread', A, '--run', EVERY_TOOL], /--step is required/],
    [['runs', 'get', '--thread', A], /--run is required/],
    [['runs', 'list', '--thread', A, '--output', 'yaml'], /--output: expected table, json or jsonl/],
    [['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '--limit', '0'], /--limit/],
    [['steps', 'list', '--thread', A, '--run', EVERY_TOOL, '--order', 'newest'], /--order/],
    [['runs', 'list', '--thread', A, '--fields', ','], /--fields/],
    [['steps', 'lst'], /unknown subcommand/],
  ])('usage error %j: exit 2', async (args, message) => {
    const s = await simulator('every-type');
    const result = await cli(args, openaiEnv(s));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });
});

describe('resilience as the user sees it', () => {
  it('a 429 with Retry-After: 1 is waited out (never early), logged on stderr without secrets, and the output is complete', async () => {
    const s = await simulator('long-run', { faults: [{ kind: 'rate-limit', retryAfterSeconds: 1, match: { operation: 'listRunSteps', after: 1, times: 1 } }] });
    const result = await cli(['steps', 'list', '--thread', 'thread_longrun', '--run', 'run_longrun', '-o', 'jsonl'], openaiEnv(s));
    expect(result.code, result.stderr).toBe(0);
    expect(jsonLines<ApiStep>(result)).toHaveLength(250);
    expect(s.requests.map((r) => r.status)).toEqual([200, 429, 200, 200]);
    const [second, third] = [s.requests[1], s.requests[2]];
    expect((third?.receivedAtMs ?? 0) - (second?.receivedAtMs ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(third?.query).toEqual(second?.query);
    expect(result.stderr).toMatch(/WARN +API request will be retried .*reason="HTTP 429 rate_limit_exceeded"/);
  });

  it('a 503 and a dropped connection are retried; with a token command, its token is in no log line', async () => {
    const s = await simulator('every-type', {
      auth: { kind: 'bearer', token: TOKEN },
      faults: [
        { kind: 'server-error', status: 503, match: { times: 1 } },
        { kind: 'drop-connection', match: { times: 1 } },
      ],
    });
    const tokenFile = path.join(dir, 'token.txt');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const result = await cli(['runs', 'list', '--thread', A, '-o', 'json'], { OPENAI_BASE_URL: s.url, ASSISTANTS_OTEL_TOKEN_COMMAND: `cat '${tokenFile}'` });
    expect(result.code, result.stderr).toBe(0);
    expect(json<ApiRun[]>(result)).toHaveLength(3);
    expect(s.requests.map((r) => r.status)).toEqual([503, null, 200]);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(2); // one warning per retry
    expect(JSON.stringify(s.requests)).not.toContain(TOKEN);
  });
});
