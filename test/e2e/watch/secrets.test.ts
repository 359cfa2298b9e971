/**
 * Secrets stay secret: the API key, OTLP header values and the listen token appear nowhere in the
 * sidecar's output (debug level, JSON logs), in what it exports (spans, resource: the raw request
 * bodies are searched), or in /metrics, even through retries and refusals. A wrong or missing key
 * stops the sidecar with exit code 1 and a message saying what to check, without the key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { baseEnv, canonical, cleanupAll, FAST, outputOf, registrationUrl, scenario, startWatch, startWorld, waitForEverything } from './helpers.js';

afterEach(cleanupAll);

const API_KEY = 'sk-e2e-apikey-3b9d7c1f0a';
const OTLP_TOKEN = 'otlp-e2e-token-91c2ee48';
const OTLP_ORG = 'org-e2e-tenant-5521ab';
const LISTEN_TOKEN = 'listen-e2e-token-0d4e77';

/** Each secret, and the forms it could leak in (percent-encoded, with its scheme). */
function leakForms(secret: string): string[] {
  return [secret, encodeURIComponent(`Bearer ${secret}`), `Bearer ${secret}`, Buffer.from(secret).toString('base64')];
}

function leaks(text: string, secrets: string[]): string[] {
  return secrets.flatMap(leakForms).filter((form) => text.includes(form));
}

describe('watch keeps secrets', () => {
  it('no API key, OTLP header value or listen token in logs, spans, resource or /metrics', async () => {
    const world = await startWorld({
      scenario: scenario('demo'),
      auth: { kind: 'bearer', token: API_KEY },
      // Some API trouble, so that the retry and error paths log too.
      faults: [
        { kind: 'rate-limit', retryAfterSeconds: 1, match: { operation: 'listRunSteps', times: 1 } },
        { kind: 'server-error', status: 502, match: { operation: 'getRun', times: 1 } },
      ],
    });
    // And a collector that refuses once.
    world.script = (_request, index) => (index === 0 ? { status: 503, body: 'busy' } : undefined);
    const cli = startWatch(world, ['--memory-state', '--log-level', 'debug', '--log-format', 'json'], {
      env: {
        OPENAI_API_KEY: API_KEY,
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${OTLP_TOKEN},x-scope-orgid=${OTLP_ORG}`,
        ASSISTANTS_OTEL_LISTEN_TOKEN: LISTEN_TOKEN,
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=e2e',
      },
    });
    const url = await registrationUrl(cli);
    // Registration attempts: refused ones (a wrong token that shares a prefix, the key itself) and a good one.
    for (const presented of [`${LISTEN_TOKEN.slice(0, -1)}x`, API_KEY, OTLP_TOKEN]) {
      const refused = await fetch(`${url}/v1/watch`, { method: 'POST', headers: { Authorization: `Bearer ${presented}` }, body: JSON.stringify({ thread_id: 'thread_x' }) });
      expect(refused.status).toBe(401);
      expect(leaks(await refused.text(), [API_KEY, OTLP_TOKEN, OTLP_ORG, LISTEN_TOKEN])).toEqual([]);
    }
    const extra = world.sim.createThread();
    const good = await fetch(`${url}/v1/watch`, { method: 'POST', headers: { Authorization: `Bearer ${LISTEN_TOKEN}` }, body: JSON.stringify({ thread_id: extra.id }) });
    expect(good.status).toBe(201);
    world.sim.startRun(extra.id, 'every-tool');

    const expected = await waitForEverything(world, { threads: [...world.threads, extra.id], extraDetails: () => outputOf(cli) });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(await cli.kill('SIGTERM'), outputOf(cli)).toEqual({ code: 0, signal: null });

    // The secrets were in use: the API let us in, the collector got the headers.
    expect(world.sim.requests.filter((r) => r.status === 401)).toEqual([]);
    expect(world.receiver.requests[0]?.headers['authorization']).toBe(`Bearer ${OTLP_TOKEN}`);
    expect(world.receiver.requests[0]?.headers['x-scope-orgid']).toBe(OTLP_ORG);
    expect(world.receiver.spans().length).toBe(expected.length);
    // The trouble paths really ran. (Nothing in the sidecar logs at debug level today, so
    // `--log-level debug` adds no lines; the flag is there for when something does.)
    expect(cli.stderr()).toMatch(/"msg":"API request will be retried"/);
    expect(cli.stderr()).toMatch(/"msg":"export will be retried"/);

    const secrets = [API_KEY, OTLP_TOKEN, OTLP_ORG, LISTEN_TOKEN];
    expect(leaks(cli.stdout(), secrets), 'stdout').toEqual([]);
    expect(leaks(cli.stderr(), secrets), 'stderr').toEqual([]);
    expect(leaks(metrics, secrets), '/metrics').toEqual([]);
    for (const request of world.receiver.requests) {
      const body = Buffer.from(request.body).toString('latin1');
      expect(leaks(body, secrets), `OTLP request #${request.index} body`).toEqual([]);
      for (const span of request.spans) {
        expect(leaks(canonical(span), secrets), `span ${span.name} (every field, resource included)`).toEqual([]);
      }
    }
  });

  it.each([
    { what: 'a wrong key', key: 'sk-e2e-wrong-key-6f0c2d' as string | undefined, format: 'text' },
    { what: 'a wrong key (JSON logs)', key: 'sk-e2e-wrong-key-6f0c2d' as string | undefined, format: 'json' },
    { what: 'no key at all', key: undefined, format: 'text' },
  ])('authentication refused ($what): says what to check, exits 1, never shows a key', async ({ key, format }) => {
    const world = await startWorld({ auth: { kind: 'bearer', token: API_KEY } });
    const thread = world.sim.createThread();
    // --listen: without it the sidecar may exit 0 before its first request (lifecycle.test.ts, "keeps running without --listen").
    const result = await runCli(['watch', ...FAST, '--listen', '127.0.0.1:0', '--memory-state', '--log-format', format, '--thread', thread.id], {
      env: baseEnv(world, key ? { OPENAI_API_KEY: key } : {}),
      timeoutMs: 15_000,
    });
    const output = `${result.stderr}\n${result.stdout}`;
    expect({ code: result.code, signal: result.signal }, output).toEqual({ code: 1, signal: null });
    expect(result.stderr).toMatch(/the API refused the credentials \(HTTP 401/);
    expect(result.stderr).toMatch(/Check: [^"\n]*OPENAI_API_KEY/);
    expect(result.stderr).toContain(world.sim.url); // which server refused
    expect(result.stderr).toMatch(/stopping: the API refused our credentials/);
    expect(leaks(output, [API_KEY, ...(key ? [key] : [])])).toEqual([]);
    // It gave up at once: one refused request, no retry storm against a server that said no.
    expect(world.sim.requests.filter((r) => r.status === 401).length).toBe(1);
    expect(world.receiver.requests).toEqual([]);
  });
});
