/**
 * Identical resends for real (README "Identity and parenting"): the same run exported by `watch`,
 * by `import` (its records saved from the same API) and by the library's `exportRecords` (given the
 * same provider) goes out as byte-identical OTLP requests: the same span IDs, the same attributes,
 * `gen_ai.provider.name` and `server.address`/`server.port` included, decided by one function
 * (mapping/source.ts) for every path.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProvider, exportRecords } from '../../src/index.js';
import { runCli } from '../support/cli.js';
import { cleanupAll, expectedSpans, outputOf, startWatch, startWorld, waitForEverything } from './watch/helpers.js';

afterEach(cleanupAll);

describe('the same run, three paths', () => {
  it('watch, import and exportRecords send byte-identical requests', async () => {
    const world = await startWorld({ scenario: { name: 'one-run', threads: [{ id: 'thread_same', runs: [{ id: 'run_same', startAt: 0, template: 'every-tool' }] }] } });
    const cli = startWatch(world, ['--memory-state']);
    const expected = await waitForEverything(world, { extraDetails: () => outputOf(cli) });
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
    const fromWatch = world.receiver.requests.filter((r) => r.accepted);
    expect(fromWatch).toHaveLength(1);
    const watched = fromWatch[0]?.rawBody as Uint8Array;
    expect(fromWatch[0]?.spans.map((s) => s.attributes['server.address'])).toEqual(expected.map(() => '127.0.0.1'));

    // The records as the API has them, saved to files, then imported with the same provider settings.
    const runsFile = join(world.dir, 'runs.json');
    const stepsFile = join(world.dir, 'steps.json');
    await writeFile(runsFile, JSON.stringify({ object: 'list', data: world.sim.state.runs }));
    await writeFile(stepsFile, JSON.stringify({ object: 'list', data: world.sim.state.steps }));
    world.receiver.reset();
    world.receiver.respondWith(undefined);
    const imported = await runCli(['import', runsFile, stepsFile], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: world.receiver.url, OPENAI_BASE_URL: world.sim.url } });
    expect(imported.code, imported.stderr).toBe(0);
    expect(world.receiver.requests).toHaveLength(1);
    expect(Buffer.from(world.receiver.requests[0]?.rawBody as Uint8Array).equals(Buffer.from(watched))).toBe(true);

    // The library, told the same provider.
    world.receiver.reset();
    const result = await exportRecords([...world.sim.state.runs, ...world.sim.state.steps], {
      otlp: { url: world.receiver.tracesUrl },
      source: createProvider({ baseUrl: world.sim.url }),
    });
    expect(result.failures).toEqual([]);
    expect(world.receiver.requests).toHaveLength(1);
    expect(Buffer.from(world.receiver.requests[0]?.rawBody as Uint8Array).equals(Buffer.from(watched))).toBe(true);
    expect(expectedSpans(world).map((s) => s.spanId).sort()).toEqual(world.receiver.spans().map((s) => s.spanId).sort());
  });
});
