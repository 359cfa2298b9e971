/**
 * A collector's partial success (`ExportTraceServiceResponse.partial_success`: `rejected_spans`,
 * `error_message`), over protobuf and OTLP/JSON, is counted as rejected and never as delivered
 * (README "Delivery"): `import` prints it in its summary and exits 1; the sidecar logs it with the
 * collector's message and counts it in /metrics.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { partialSuccessReply, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { cleanupAll, metricValue, outputOf, registrationUrl, scenario, startWatch, startWorld, waitForEverything, waitUntil } from './watch/helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/records/', import.meta.url));

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
  await cleanupAll();
});

describe('import', () => {
  it.each(['http/protobuf', 'http/json'])('over %s: the rejected spans are in the summary with the message, and the exit status is 1', async (protocol) => {
    const receiver = await startOtlpReceiver();
    receivers.push(receiver);
    receiver.respondWith((request) => partialSuccessReply(request, 3, 'attribute gen_ai.tool.call.result too long'));
    const result = await runCli(['import', `${FIXTURES}runs.json`, `${FIXTURES}steps.jsonl`], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol },
    });
    expect(result.code, result.stderr).toBe(1);
    const total = receiver.requests.flatMap((r) => r.spans).length;
    const rejected = 3 * receiver.requests.length;
    expect(result.stdout).toContain(`→ ${total - rejected} of ${total} spans exported to`);
    expect(result.stdout).toContain(`  ${rejected} spans rejected by the collector (partial success): attribute gen_ai.tool.call.result too long`);
  });
});

describe('watch', () => {
  it('logs the collector\'s message, counts the rejected spans, and does not count them as exported', async () => {
    const world = await startWorld({ scenario: scenario('every-type') });
    world.script = (request) => partialSuccessReply(request, 1, 'span dropped by the tail sampler');
    const cli = startWatch(world, ['--memory-state']);
    const url = await registrationUrl(cli);
    const expected = await waitForEverything(world, { extraDetails: () => outputOf(cli) });
    const requests = world.receiver.requests.filter((r) => r.accepted).length;
    const text = await waitUntil(async () => {
      const t = await (await fetch(`${url}/metrics`)).text();
      return metricValue(t, 'assistants_otel_spans_rejected_by_collector_total') === requests ? t : undefined;
    }, { what: 'the rejected spans counted' });
    expect(metricValue(text, 'assistants_otel_exported_total', '{kind="span"}')).toBe(expected.length - requests);
    expect(cli.stderr()).toMatch(/ERROR the collector rejected spans of an accepted request \(partial success\); they are counted as rejected, not delivered .*rejected_spans=1 .*message="span dropped by the tail sampler"/);
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });
  });
});
