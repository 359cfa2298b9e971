/**
 * No secret leaves the process in anything a person or a log pipeline sees: not the API key, not an
 * Azure api-key, not a bearer token from a token command. Checked in every error message (and its
 * details), every log line the client writes (captured raw, without the logger's scrubbing), and every
 * request the server recorded, across every fault.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AssistantsClient } from '../../../src/api/client.js';
import { bearerToken, commandTokenSource, staticKey, type Credentials } from '../../../src/api/credentials.js';
import type { ProviderOptions } from '../../../src/api/providers.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../../src/simulator/index.js';
import { captureLogger, clientFor, FAST_RETRY } from './helpers.js';

const KEY = 'sk-proj-SECRETKEY0123456789abcdefABCDEF';
const AZURE_KEY = 'AZSECRETKEY0123456789abcdef0123456789';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.SECRETTOKENpayload0123456789.signature';
const THREAD = 'thread_malformed';
const RUN = 'run_malformed';

const dir = mkdtempSync(path.join(tmpdir(), 'assistants-otel-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function commandPrinting(output: string): string {
  const file = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, output);
  return `cat '${file}'`;
}

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Every text a failure produced: the message, the name, the details. */
function describeFailure(error: unknown): string {
  const e = error as Error & { details?: unknown };
  return [String(e), e.message, e.stack ?? '', JSON.stringify(e.details ?? {})].join('\n');
}

/**
 * Drives `client` through every fault the simulator has and every kind of refusal, and returns all
 * the text the failures produced.
 */
async function throughEveryFault(s: Simulator, client: AssistantsClient): Promise<string[]> {
  const texts: string[] = [];
  const attempt = async (call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (error) {
      texts.push(describeFailure(error));
    }
  };
  const faults: Parameters<Simulator['faults']['add']>[0][] = [
    { kind: 'rate-limit', retryAfterSeconds: 0, match: { times: 1 } },
    { kind: 'rate-limit', retryAfterSeconds: 0 },
    { kind: 'server-error', status: 500, match: { times: 1 } },
    { kind: 'server-error', status: 503 },
    { kind: 'drop-connection', match: { times: 1 } },
    { kind: 'drop-connection' },
    { kind: 'delay', delayMs: 400 },
    { kind: 'malformed-json', match: { times: 1 } },
    { kind: 'auth-failure', match: { times: 1 } },
    { kind: 'inject-record', record: 'not-an-object', match: { times: 1 } },
  ];
  for (const fault of faults) {
    s.faults.clear();
    s.faults.add(fault);
    await attempt(() => client.listRunSteps(THREAD, RUN));
  }
  s.faults.clear();
  await attempt(() => client.getRun(THREAD, 'run_nosuch')); // not found
  await attempt(() => client.listRuns(THREAD, { limit: 500 })); // invalid request
  await attempt(() => client.getRunStep(THREAD, RUN, s.steps(RUN)[1]?.id as string)); // invalid payload
  await attempt(() => client.listRunSteps(THREAD, RUN)); // fine: a page with rejections
  return texts;
}

function expectNoSecret(texts: readonly string[], secrets: readonly string[]) {
  for (const text of texts) {
    for (const secret of secrets) expect(text, 'a secret leaked').not.toContain(secret);
  }
}

interface Case {
  name: string;
  sim: Partial<SimulatorOptions>;
  provider: (s: Simulator) => ProviderOptions;
  secrets: string[];
}

const CASES: Case[] = [
  {
    name: 'an OpenAI API key',
    sim: { prefix: '/v1', auth: { kind: 'bearer', token: KEY } },
    provider: () => ({ credentials: staticKey(KEY, 'OPENAI_API_KEY') }),
    secrets: [KEY],
  },
  {
    name: 'an Azure api-key',
    sim: { prefix: '/openai', auth: { kind: 'api-key', key: AZURE_KEY }, apiVersion: '2025-04-01-preview' },
    provider: (s) => ({ kind: 'azure-openai', baseUrl: s.origin, apiVersion: '2025-04-01-preview', credentials: staticKey(AZURE_KEY, 'AZURE_OPENAI_API_KEY', 'api-key') }),
    secrets: [AZURE_KEY],
  },
  {
    name: 'a bearer token from a token command',
    sim: { prefix: '/api/projects/p', auth: { kind: 'bearer', token: TOKEN }, apiVersion: '2025-05-15-preview' },
    provider: (s) => ({
      kind: 'azure-foundry',
      baseUrl: `${s.origin}/api/projects/p`,
      apiVersion: '2025-05-15-preview',
      credentials: bearerToken(commandTokenSource(commandPrinting(JSON.stringify({ accessToken: TOKEN, expires_in: 3600 }))), 'the token command'),
    }),
    secrets: [TOKEN],
  },
];

describe('secrets never appear', () => {
  it.each(CASES)('$name: not in any error, log line or recorded request, through every fault', async ({ sim: simOptions, provider, secrets }) => {
    sim = await createSimulator({ clock: 'manual', scenario: 'malformed', ...simOptions });
    await sim.runUntilIdle();
    const { logger, lines } = captureLogger();
    const { client } = clientFor(sim, { provider: { baseUrl: sim.url, ...provider(sim) }, logger, timeoutMillis: 100, retry: { ...FAST_RETRY, maxAttempts: 2 } });
    const texts = await throughEveryFault(sim, client);
    expect(texts.length).toBeGreaterThanOrEqual(8); // the faults really failed calls
    expect(lines.length).toBeGreaterThan(0); // and the client really logged
    expectNoSecret(texts, secrets);
    expectNoSecret(lines, secrets);
    expectNoSecret([JSON.stringify(sim.requests)], secrets);
    // the server did receive the credential: every request that reached the auth check passed it
    expect(sim.requests.some((r) => r.status === 200)).toBe(true);
  });

  it('a refused credential: the auth error says what to check without the key', async () => {
    sim = await createSimulator({ clock: 'manual', scenario: 'malformed', prefix: '/v1', auth: { kind: 'bearer', token: 'sk-the-right-one-0123456789' } });
    const { logger, lines } = captureLogger();
    const { client } = clientFor(sim, { provider: { credentials: staticKey(KEY, 'OPENAI_API_KEY') }, logger });
    let text = '';
    try {
      await client.listRuns(THREAD);
    } catch (error) {
      text = describeFailure(error);
    }
    expect(text).toContain('Check: OPENAI_API_KEY');
    expectNoSecret([text, ...lines, JSON.stringify(sim.requests)], [KEY]);
  });

  it('a refused bearer token, fetched again after the 401: neither token appears', async () => {
    sim = await createSimulator({ clock: 'manual', scenario: 'malformed', prefix: '/v1', auth: { kind: 'bearer', token: 'the-right-token-0123456789' } });
    const tokens = [`${TOKEN}.first`, `${TOKEN}.second`];
    let i = 0;
    const credentials: Credentials = bearerToken(async () => tokens[Math.min(i++, 1)] as string, 'the token callback');
    const { logger, lines } = captureLogger();
    const { client } = clientFor(sim, { provider: { credentials }, logger });
    let text = '';
    try {
      await client.listRuns(THREAD);
    } catch (error) {
      text = describeFailure(error);
    }
    expect(sim.requests).toHaveLength(2);
    expect(text).toMatch(/Check: the token callback/);
    expectNoSecret([text, ...lines, JSON.stringify(sim.requests)], [TOKEN]);
  });

  it('a token command printing malformed JSON: no part of the token in the error or the log lines', async () => {
    // An opaque (non-JWT) token, printed as a JavaScript-style object rather than JSON: unquoted.
    const opaque = 'OPAQUESECRET0123456789abcdefghij';
    sim = await createSimulator({ clock: 'manual', scenario: 'malformed', prefix: '/v1', auth: { kind: 'bearer', token: opaque } });
    const command = commandPrinting(`{"accessToken":${opaque}}`);
    const { logger, lines } = captureLogger();
    const { client } = clientFor(sim, { provider: { credentials: bearerToken(commandTokenSource(command), 'the token command') }, logger, retry: { ...FAST_RETRY, maxAttempts: 2 } });
    let text = '';
    try {
      await client.listRuns(THREAD);
    } catch (error) {
      text = describeFailure(error);
    }
    expect(text).not.toBe('');
    expect(sim.requests).toHaveLength(0); // nothing was sent without a token
    expectNoSecret([text, ...lines], [opaque, opaque.slice(0, 8)]);
  });

  it('a token command that fails: the error says so, without what the command printed', async () => {
    sim = await createSimulator({ clock: 'manual', scenario: 'malformed', prefix: '/v1', auth: { kind: 'bearer', token: TOKEN } });
    const command = `${commandPrinting(TOKEN)}; ${commandPrinting(TOKEN)} >&2; exit 7`;
    const { logger, lines } = captureLogger();
    const { client } = clientFor(sim, { provider: { credentials: bearerToken(commandTokenSource(command), 'the token command') }, logger, retry: { ...FAST_RETRY, maxAttempts: 2 } });
    let text = '';
    try {
      await client.listRuns(THREAD);
    } catch (error) {
      text = describeFailure(error);
    }
    expect(text).toMatch(/token command failed \(7\)/);
    expectNoSecret([text, ...lines], [TOKEN]);
  });

  it('a base URL with credentials in its user-info: the password shows in no error or log line', async () => {
    sim = await createSimulator({ clock: 'manual', scenario: 'malformed', prefix: '/v1' });
    const password = 'URLPASSWORD0123456789secret';
    const withUserInfo = sim.url.replace('http://', `http://proxyuser:${password}@`);
    const { logger, lines } = captureLogger();
    // Refused when the profile is built (fetch would refuse it later, repeating the password).
    let text = '';
    try {
      const { client } = clientFor(sim, { provider: { baseUrl: withUserInfo }, logger, retry: { ...FAST_RETRY, maxAttempts: 2 } });
      await client.listRuns(THREAD);
    } catch (error) {
      text = describeFailure(error);
    }
    expect(text).toMatch(/must not contain a user name or password/);
    expectNoSecret([text, ...lines], [password]);
  });
});
