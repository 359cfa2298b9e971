/**
 * Each provider profile against a simulator configured the way that provider is: the URL (prefix and
 * `api-version`), the auth header, `OpenAI-Beta`, organization/project headers; bearer tokens from a
 * callback or a command, fetched again once after a 401; authentication failures as fatal, typed
 * errors that say what to check.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RequestBudget } from '../../../src/api/budget.js';
import { createAssistantsClient } from '../../../src/api/client.js';
import { bearerToken, commandTokenSource, staticKey } from '../../../src/api/credentials.js';
import { apiConfigFromEnv } from '../../../src/config.js';
import { createSimulator, REDACTED, type Simulator, type SimulatorOptions } from '../../../src/simulator/index.js';
import { apiError, clientFor, FAST_RETRY } from './helpers.js';

const KEY = 'sk-providers-0123456789abcdefSECRET';
const AZURE_KEY = 'azurekey0123456789abcdefSECRET';
const TOKEN = 'entra-eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.current.sig';
const STALE_TOKEN = 'entra-eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.stale.sig';
const THREAD = 'thread_everytype_a';
const AZURE_OPENAI_VERSION = '2025-04-01-preview';
const FOUNDRY_VERSION = '2025-05-15-preview';
const FOUNDRY_PREFIX = '/api/projects/proj-sim';

const dir = mkdtempSync(path.join(tmpdir(), 'assistants-otel-providers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A token command that prints `token` as `az account get-access-token -o json` would; the command itself holds no secret. */
function tokenCommand(token: string): string {
  const file = path.join(dir, `token-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ accessToken: token, expires_on: Math.floor(Date.now() / 1000) + 3600, tokenType: 'Bearer' }));
  return `cat '${file}'`;
}

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function simulator(options: Partial<SimulatorOptions>): Promise<Simulator> {
  sim = await createSimulator({ clock: 'manual', scenario: 'every-type', ...options });
  await sim.runUntilIdle();
  return sim;
}

describe('OpenAI-compatible', () => {
  it('base URL with its prefix, Authorization: Bearer, OpenAI-Beta, organization and project headers', async () => {
    const s = await simulator({ prefix: '/v1', auth: { kind: 'bearer', token: KEY }, requireBetaHeader: true });
    const { client } = clientFor(s, { provider: { credentials: staticKey(KEY, 'OPENAI_API_KEY'), organization: 'org_sim', project: 'proj_sim' } });
    const page = await client.listRuns(THREAD);
    expect(page.items).toHaveLength(3);
    const request = s.requests[0];
    expect(request).toMatchObject({ path: `/threads/${THREAD}/runs`, query: {}, status: 200 });
    expect(request?.headers).toMatchObject({
      authorization: REDACTED,
      'openai-beta': 'assistants=v2',
      'openai-organization': 'org_sim',
      'openai-project': 'proj_sim',
      accept: 'application/json',
      'user-agent': expect.stringMatching(/^assistants-otel\/\d/),
    });
    expect(request?.headers).not.toHaveProperty('api-key');
  });
});

describe('Azure OpenAI', () => {
  it('{endpoint}/openai, the api-key header and the required api-version', async () => {
    const s = await simulator({ prefix: '/openai', auth: { kind: 'api-key', key: AZURE_KEY }, apiVersion: AZURE_OPENAI_VERSION });
    const { client } = clientFor(s, {
      provider: { kind: 'azure-openai', baseUrl: s.origin, apiVersion: AZURE_OPENAI_VERSION, credentials: staticKey(AZURE_KEY, 'AZURE_OPENAI_API_KEY', 'api-key') },
    });
    const { value } = await client.getRun(THREAD, 'run_failed');
    expect(value.id).toBe('run_failed');
    const request = s.requests[0];
    expect(request).toMatchObject({ path: `/threads/${THREAD}/runs/run_failed`, query: { 'api-version': AZURE_OPENAI_VERSION }, status: 200 });
    expect(request?.headers).toMatchObject({ 'api-key': REDACTED, 'openai-beta': 'assistants=v2' });
    expect(request?.headers).not.toHaveProperty('authorization');
  });

  it('or an Entra ID bearer token instead of the key', async () => {
    const s = await simulator({ prefix: '/openai', auth: { kind: 'bearer', token: TOKEN }, apiVersion: AZURE_OPENAI_VERSION });
    const { client } = clientFor(s, {
      provider: { kind: 'azure-openai', baseUrl: `${s.origin}/openai`, apiVersion: AZURE_OPENAI_VERSION, credentials: bearerToken(async () => TOKEN, 'the token callback') },
    });
    const steps = await client.listRunSteps(THREAD, 'run_everytool', { order: 'asc' });
    expect(steps.items).toHaveLength(4);
    expect(s.requests[0]).toMatchObject({ query: { 'api-version': AZURE_OPENAI_VERSION, order: 'asc' }, headers: { authorization: REDACTED } });
  });

  it('include[] travels next to api-version', async () => {
    const s = await simulator({ prefix: '/openai', auth: { kind: 'api-key', key: AZURE_KEY }, apiVersion: AZURE_OPENAI_VERSION });
    const { client } = clientFor(s, {
      provider: { kind: 'azure-openai', baseUrl: s.origin, apiVersion: AZURE_OPENAI_VERSION, credentials: staticKey(AZURE_KEY, 'AZURE_OPENAI_API_KEY', 'api-key') },
    });
    await client.listRunSteps(THREAD, 'run_everytool', { includeFileSearchContent: true, limit: 10 });
    expect(s.requests[0]?.query).toEqual({ 'api-version': AZURE_OPENAI_VERSION, limit: '10', 'include[]': 'step_details.tool_calls[*].file_search.results[*].content' });
  });
});

describe('Azure Foundry Agent Service', () => {
  it('the project endpoint, a bearer token from a command, and api-version', async () => {
    const s = await simulator({ prefix: FOUNDRY_PREFIX, auth: { kind: 'bearer', token: TOKEN }, apiVersion: FOUNDRY_VERSION });
    const { client } = clientFor(s, {
      provider: { kind: 'azure-foundry', baseUrl: `${s.origin}${FOUNDRY_PREFIX}`, apiVersion: FOUNDRY_VERSION, credentials: bearerToken(commandTokenSource(tokenCommand(TOKEN)), 'the token command') },
    });
    const page = await client.listRuns(THREAD, { order: 'asc' });
    expect(page.items.map((r) => r.id)).toEqual(['run_everytool', 'run_failed', 'run_incomplete']);
    expect(s.requests[0]).toMatchObject({ path: `/threads/${THREAD}/runs`, query: { 'api-version': FOUNDRY_VERSION, order: 'asc' }, headers: { authorization: REDACTED }, status: 200 });
  });
});

describe('profiles from the environment (apiConfigFromEnv) against a server configured like each provider', () => {
  it.each([
    {
      name: 'openai',
      sim: { prefix: '/v1', auth: { kind: 'bearer', token: KEY }, requireBetaHeader: true } as Partial<SimulatorOptions>,
      env: (s: Simulator) => ({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: s.url, OPENAI_ORG_ID: 'org_env', OPENAI_PROJECT_ID: 'proj_env' }),
      headers: { authorization: REDACTED, 'openai-organization': 'org_env', 'openai-project': 'proj_env' },
      query: {},
    },
    {
      name: 'azure-openai',
      sim: { prefix: '/openai', auth: { kind: 'api-key', key: AZURE_KEY }, apiVersion: AZURE_OPENAI_VERSION } as Partial<SimulatorOptions>,
      env: (s: Simulator) => ({ AZURE_OPENAI_ENDPOINT: s.origin, AZURE_OPENAI_API_KEY: AZURE_KEY, OPENAI_API_VERSION: AZURE_OPENAI_VERSION }),
      headers: { 'api-key': REDACTED },
      query: { 'api-version': AZURE_OPENAI_VERSION },
    },
    {
      name: 'azure-foundry',
      sim: { prefix: FOUNDRY_PREFIX, auth: { kind: 'bearer', token: TOKEN }, apiVersion: FOUNDRY_VERSION } as Partial<SimulatorOptions>,
      env: (s: Simulator) => ({ AZURE_AI_PROJECT_ENDPOINT: `${s.origin}${FOUNDRY_PREFIX}`, AZURE_AI_AGENTS_API_VERSION: FOUNDRY_VERSION, ASSISTANTS_OTEL_TOKEN_COMMAND: tokenCommand(TOKEN) }),
      headers: { authorization: REDACTED },
      query: { 'api-version': FOUNDRY_VERSION },
    },
  ])('$name', async ({ name, sim: simOptions, env, headers, query }) => {
    const s = await simulator(simOptions);
    const config = apiConfigFromEnv(env(s));
    expect(config.provider.kind).toBe(name);
    const client = createAssistantsClient({ provider: config.provider, budget: new RequestBudget(config.budget), retry: FAST_RETRY });
    const { value } = await client.getRun(THREAD, 'run_everytool');
    expect(value.status).toBe('completed');
    expect(s.requests[0]).toMatchObject({ path: `/threads/${THREAD}/runs/run_everytool`, query, headers: { 'openai-beta': 'assistants=v2', ...headers }, status: 200 });
  });
});

describe('authentication', () => {
  it('a stale bearer token is re-fetched once after a 401, and the request goes through', async () => {
    const s = await simulator({ prefix: '/v1', auth: { kind: 'bearer', token: TOKEN } });
    const handed: string[] = [];
    const source = async () => {
      const token = handed.length === 0 ? STALE_TOKEN : TOKEN;
      handed.push(token);
      return token;
    };
    const { client, events } = clientFor(s, { provider: { credentials: bearerToken(source, 'the token callback') } });
    const page = await client.listRuns(THREAD);
    expect(page.items).toHaveLength(3);
    expect(handed).toEqual([STALE_TOKEN, TOKEN]);
    expect(s.requests.map((r) => r.status)).toEqual([401, 200]);
    expect(events.map((e) => [e.status, e.outcome])).toEqual([
      [401, 'retry'],
      [200, 'ok'],
    ]);
  });

  it('a token command that keeps printing a refused token: fetched again once, then a fatal auth error', async () => {
    const s = await simulator({ prefix: '/v1', auth: { kind: 'bearer', token: TOKEN } });
    const counter = path.join(dir, 'calls');
    writeFileSync(counter, '');
    const command = `echo run >> '${counter}'; ${tokenCommand(STALE_TOKEN)}`;
    const { client } = clientFor(s, { provider: { credentials: bearerToken(commandTokenSource(command), 'the token command (--token-command)') } });
    const error = await apiError(client.listRuns(THREAD));
    expect(error).toMatchObject({ kind: 'auth', details: { status: 401, code: 'invalid_api_key' } });
    expect(error.message).toMatch(/Check: the token command \(--token-command\); base URL http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(s.requests.map((r) => r.status)).toEqual([401, 401]);
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('a refused static key is fatal at once (one request) and the message says what to check', async () => {
    const s = await simulator({ prefix: '/v1', auth: { kind: 'bearer', token: KEY } });
    const { client, events } = clientFor(s, { provider: { credentials: staticKey('sk-wrong-0123456789abcdef', 'OPENAI_API_KEY') } });
    const error = await apiError(client.getRun(THREAD, 'run_failed'));
    expect(error).toMatchObject({ kind: 'auth', details: { status: 401, code: 'invalid_api_key' } });
    expect(error.message).toMatch(/refused the credentials/);
    expect(error.message).toContain('Check: OPENAI_API_KEY');
    expect(error.message).toContain(`base URL ${s.url}`);
    expect(s.requests).toHaveLength(1);
    expect(events).toEqual([{ operation: expect.any(String), status: 401, outcome: 'error' }]);
  });

  it('no key at all: the hint says to set OPENAI_API_KEY', async () => {
    const s = await simulator({ prefix: '/v1', auth: { kind: 'bearer', token: KEY } });
    const { client } = clientFor(s);
    const error = await apiError(client.listRuns(THREAD));
    expect(error.kind).toBe('auth');
    expect(error.message).toMatch(/OPENAI_API_KEY/);
    expect(s.requests).toHaveLength(1);
  });

  it('a wrong Azure key names AZURE_OPENAI_API_KEY', async () => {
    const s = await simulator({ prefix: '/openai', auth: { kind: 'api-key', key: AZURE_KEY }, apiVersion: AZURE_OPENAI_VERSION });
    const { client } = clientFor(s, {
      provider: { kind: 'azure-openai', baseUrl: s.origin, apiVersion: AZURE_OPENAI_VERSION, credentials: staticKey('wrong-azure-key-0123456789', 'AZURE_OPENAI_API_KEY', 'api-key') },
    });
    const error = await apiError(client.listRuns(THREAD));
    expect(error.kind).toBe('auth');
    expect(error.message).toContain('Check: AZURE_OPENAI_API_KEY');
    expect(error.details.requestId).toEqual(expect.any(String));
  });

  it('the server starting to refuse a good key mid-session (auth-failure fault) is an auth error, not retried', async () => {
    const s = await simulator({ prefix: '/v1', auth: { kind: 'bearer', token: KEY } });
    const { client } = clientFor(s, { provider: { credentials: staticKey(KEY, 'OPENAI_API_KEY') } });
    await client.listRuns(THREAD);
    s.faults.add({ kind: 'auth-failure', match: { operation: 'listRunSteps' } });
    const error = await apiError(client.listRunSteps(THREAD, 'run_everytool'));
    expect(error.kind).toBe('auth');
    expect(s.requests.map((r) => [r.operation, r.status])).toEqual([
      ['listRuns', 200],
      ['listRunSteps', 401],
    ]);
  });
});
