/**
 * Provider profiles (issue: OpenAI-compatible, Azure OpenAI, Azure Foundry Agent Service) and the
 * environment that selects them (`apiConfigFromEnv`): base URL, auth header, `OpenAI-Beta`,
 * organization/project headers, the required `api-version`; config errors name the variable and
 * never print a key.
 */
import { describe, expect, it } from 'vitest';
import { bearerToken, staticKey } from '../../../src/api/credentials.js';
import { createProvider, DEFAULT_OPENAI_BASE_URL } from '../../../src/api/providers.js';
import { apiConfigFromEnv, ConfigError } from '../../../src/config.js';

const KEY = 'sk-provider-unit-0123456789SECRET';
const AZURE_KEY = 'azkey0123456789abcdefSECRET';

describe('createProvider', () => {
  it('openai: the public base URL by default, OpenAI-Beta on every request, no query', () => {
    const credentials = staticKey(KEY, 'OPENAI_API_KEY');
    expect(createProvider({ credentials })).toEqual({
      kind: 'openai',
      baseUrl: DEFAULT_OPENAI_BASE_URL,
      providerName: 'openai',
      query: {},
      headers: { 'OpenAI-Beta': 'assistants=v2' },
      credentials,
    });
    expect(DEFAULT_OPENAI_BASE_URL).toBe('https://api.openai.com/v1');
  });

  it('openai: any compatible base URL (trailing slashes dropped), organization and project headers', () => {
    const provider = createProvider({ baseUrl: 'http://127.0.0.1:8080/v1//', organization: 'org_1', project: 'proj_1' });
    expect(provider.baseUrl).toBe('http://127.0.0.1:8080/v1');
    expect(provider.headers).toEqual({ 'OpenAI-Beta': 'assistants=v2', 'OpenAI-Organization': 'org_1', 'OpenAI-Project': 'proj_1' });
  });

  it.each([
    ['https://myres.openai.azure.com', 'https://myres.openai.azure.com/openai'],
    ['https://myres.openai.azure.com/', 'https://myres.openai.azure.com/openai'],
    ['https://myres.openai.azure.com/openai/', 'https://myres.openai.azure.com/openai'],
  ])('azure-openai: %s → %s, with api-version in every query', (endpoint, baseUrl) => {
    const provider = createProvider({ kind: 'azure-openai', baseUrl: endpoint, apiVersion: '2025-04-01-preview' });
    expect(provider).toMatchObject({ kind: 'azure-openai', baseUrl, providerName: 'azure.ai.openai', query: { 'api-version': '2025-04-01-preview' } });
    expect(provider.headers).not.toHaveProperty('OpenAI-Organization');
  });

  it('azure-foundry: the project endpoint as given, api-version, its own provider name', () => {
    const provider = createProvider({ kind: 'azure-foundry', baseUrl: 'https://acct.services.ai.azure.com/api/projects/p1/', apiVersion: '2025-05-15-preview' });
    expect(provider).toMatchObject({
      kind: 'azure-foundry',
      baseUrl: 'https://acct.services.ai.azure.com/api/projects/p1',
      providerName: 'azure.ai.agents',
      query: { 'api-version': '2025-05-15-preview' },
    });
  });

  it.each(['azure-openai', 'azure-foundry'] as const)('%s: the endpoint and the api-version are required', (kind) => {
    expect(() => createProvider({ kind, apiVersion: 'v' })).toThrow(/endpoint is required/);
    expect(() => createProvider({ kind, baseUrl: 'https://x' })).toThrow(/api-version is required/);
  });

  it('providerName can be overridden', () => {
    expect(createProvider({ providerName: 'my.gateway' }).providerName).toBe('my.gateway');
  });
});

/** The headers a profile's credentials add. */
async function authHeaders(env: Record<string, string>, flags = {}) {
  const config = apiConfigFromEnv(env, flags);
  return { config, headers: await config.provider.credentials.headers() };
}

/** The message of what `fn` throws, which must be a ConfigError. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('apiConfigFromEnv', () => {
  it('openai: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID', async () => {
    const { config, headers } = await authHeaders({
      OPENAI_API_KEY: KEY,
      OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1',
      OPENAI_ORG_ID: 'org_env',
      OPENAI_PROJECT_ID: 'proj_env',
    });
    expect(config.provider).toMatchObject({
      kind: 'openai',
      baseUrl: 'http://127.0.0.1:9999/v1',
      query: {},
      headers: { 'OpenAI-Beta': 'assistants=v2', 'OpenAI-Organization': 'org_env', 'OpenAI-Project': 'proj_env' },
    });
    expect(headers).toEqual({ Authorization: `Bearer ${KEY}` });
    expect(config.provider.credentials.secrets()).toEqual([KEY]);
    expect(config.budget).toEqual({ maxConcurrency: 8, requestsPerSecond: 10 });
  });

  it('openai is the default; without a key nothing is sent and the hint says what to set', async () => {
    const { config, headers } = await authHeaders({});
    expect(config.provider.kind).toBe('openai');
    expect(config.provider.baseUrl).toBe('https://api.openai.com/v1');
    expect(headers).toEqual({});
    expect(config.provider.credentials.hint).toMatch(/OPENAI_API_KEY/);
  });

  it('azure-openai from AZURE_OPENAI_ENDPOINT: the api-key header and OPENAI_API_VERSION', async () => {
    const { config, headers } = await authHeaders({
      AZURE_OPENAI_ENDPOINT: 'https://myres.openai.azure.com',
      AZURE_OPENAI_API_KEY: AZURE_KEY,
      OPENAI_API_VERSION: '2025-04-01-preview',
      OPENAI_API_KEY: KEY, // an OpenAI key in the same shell is not sent to Azure
    });
    expect(config.provider).toMatchObject({ kind: 'azure-openai', baseUrl: 'https://myres.openai.azure.com/openai', query: { 'api-version': '2025-04-01-preview' } });
    expect(headers).toEqual({ 'api-key': AZURE_KEY });
  });

  it('azure-foundry from AZURE_AI_PROJECT_ENDPOINT: a bearer token from ASSISTANTS_OTEL_TOKEN_COMMAND and AZURE_AI_AGENTS_API_VERSION', async () => {
    const { config, headers } = await authHeaders({
      AZURE_AI_PROJECT_ENDPOINT: 'https://acct.services.ai.azure.com/api/projects/p1',
      AZURE_AI_AGENTS_API_VERSION: '2025-05-15-preview',
      ASSISTANTS_OTEL_TOKEN_COMMAND: 'echo tok-from-command',
    });
    expect(config.provider).toMatchObject({ kind: 'azure-foundry', baseUrl: 'https://acct.services.ai.azure.com/api/projects/p1', query: { 'api-version': '2025-05-15-preview' } });
    expect(headers).toEqual({ Authorization: 'Bearer tok-from-command' });
    expect(config.provider.credentials.secrets()).toEqual(['tok-from-command']);
  });

  it('a token command wins over a static key (azure-openai with Entra ID)', async () => {
    const { headers } = await authHeaders({
      AZURE_OPENAI_ENDPOINT: 'https://myres.openai.azure.com',
      AZURE_OPENAI_API_KEY: AZURE_KEY,
      OPENAI_API_VERSION: '2025-04-01-preview',
      ASSISTANTS_OTEL_TOKEN_COMMAND: 'echo entra-token',
    });
    expect(headers).toEqual({ Authorization: 'Bearer entra-token' });
  });

  it('flags override the environment: --provider, --base-url, --api-version, --token-command', async () => {
    const { config, headers } = await authHeaders(
      { AZURE_OPENAI_ENDPOINT: 'https://ignored.openai.azure.com', OPENAI_API_VERSION: 'ignored', AZURE_OPENAI_API_KEY: AZURE_KEY },
      { provider: 'azure-foundry', baseUrl: 'http://127.0.0.1:1/api/projects/p', apiVersion: '2025-05-15-preview', tokenCommand: 'echo flag-token', maxConcurrency: '3', maxRps: '2.5' },
    );
    expect(config.provider).toMatchObject({ kind: 'azure-foundry', baseUrl: 'http://127.0.0.1:1/api/projects/p', query: { 'api-version': '2025-05-15-preview' } });
    expect(headers).toEqual({ Authorization: 'Bearer flag-token' });
    expect(config.budget).toEqual({ maxConcurrency: 3, requestsPerSecond: 2.5 });
  });

  it('ASSISTANTS_OTEL_PROVIDER picks the kind; an unknown one is an error naming the variable', () => {
    expect(apiConfigFromEnv({ ASSISTANTS_OTEL_PROVIDER: 'openai', AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com' }).provider.kind).toBe('openai');
    const error = configError(() => apiConfigFromEnv({ ASSISTANTS_OTEL_PROVIDER: 'aws' }));
    expect(error.source).toBe('ASSISTANTS_OTEL_PROVIDER');
    expect(error.message).toMatch(/openai, azure-openai, azure-foundry/);
  });

  it.each([
    ['azure-openai without an api-version', { AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', AZURE_OPENAI_API_KEY: AZURE_KEY }, 'OPENAI_API_VERSION'],
    ['azure-openai without a key or token command', { AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', OPENAI_API_VERSION: 'v' }, 'AZURE_OPENAI_API_KEY'],
    ['azure-foundry without an api-version', { AZURE_AI_PROJECT_ENDPOINT: 'https://a.services.ai.azure.com/api/projects/p', ASSISTANTS_OTEL_TOKEN_COMMAND: 'echo t' }, 'AZURE_AI_AGENTS_API_VERSION'],
    ['azure-foundry without a token command', { AZURE_AI_PROJECT_ENDPOINT: 'https://a.services.ai.azure.com/api/projects/p', AZURE_AI_AGENTS_API_VERSION: 'v' }, 'ASSISTANTS_OTEL_TOKEN_COMMAND'],
    ['azure-openai chosen without an endpoint', { ASSISTANTS_OTEL_PROVIDER: 'azure-openai', OPENAI_API_VERSION: 'v', AZURE_OPENAI_API_KEY: AZURE_KEY }, 'AZURE_OPENAI_ENDPOINT'],
    ['a base URL that is not http(s)', { OPENAI_BASE_URL: 'ftp://example.com', OPENAI_API_KEY: KEY }, 'OPENAI_BASE_URL'],
  ])('%s is an error naming %s, without the key', (_name, env, variable) => {
    const error = configError(() => apiConfigFromEnv(env));
    expect(error.source).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).not.toContain(KEY);
    expect(error.message).not.toContain(AZURE_KEY);
  });

  it('blank variables count as unset', async () => {
    const { config, headers } = await authHeaders({ OPENAI_API_KEY: '  ', OPENAI_BASE_URL: '', AZURE_OPENAI_ENDPOINT: ' ' });
    expect(config.provider.kind).toBe('openai');
    expect(config.provider.baseUrl).toBe('https://api.openai.com/v1');
    expect(headers).toEqual({});
  });

  it('the bearer token credential is refreshable; a static key is not', () => {
    expect(apiConfigFromEnv({ OPENAI_API_KEY: KEY }).provider.credentials.invalidate()).toBe(false);
    expect(apiConfigFromEnv({ ASSISTANTS_OTEL_TOKEN_COMMAND: 'echo t' }).provider.credentials.invalidate()).toBe(true);
    // sanity: the same holds for credentials built directly
    expect(bearerToken(async () => 't', 'h').invalidate()).toBe(true);
  });
});
