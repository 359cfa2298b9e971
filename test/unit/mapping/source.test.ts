/**
 * Where records came from, as attributes (src/mapping/source.ts): one function decides
 * `gen_ai.provider.name`, `server.address` and `server.port` for every path (sidecar, import,
 * library), so the same run gets the same attributes whichever path exported it.
 */
import { describe, expect, it } from 'vitest';
import { createProvider } from '../../../src/api/providers.js';
import { sourceMappingOptions } from '../../../src/mapping/source.js';

describe('sourceMappingOptions', () => {
  it.each([
    [{ providerName: 'openai', baseUrl: 'https://api.openai.com/v1' }, { providerName: 'openai', serverAddress: 'api.openai.com', serverPort: 443 }],
    [{ providerName: 'openai', baseUrl: 'http://127.0.0.1:8080/v1' }, { providerName: 'openai', serverAddress: '127.0.0.1', serverPort: 8080 }],
    [{ providerName: 'x', baseUrl: 'http://host.internal/v1' }, { providerName: 'x', serverAddress: 'host.internal', serverPort: 80 }],
    [{ providerName: 'x', baseUrl: 'http://[::1]:9000/v1' }, { providerName: 'x', serverAddress: '::1', serverPort: 9000 }],
    [{ providerName: 'azure.ai.agents' }, { providerName: 'azure.ai.agents' }],
    [{ providerName: 'x', baseUrl: 'not a url' }, { providerName: 'x' }],
  ])('%j → %j', (source, options) => {
    expect(sourceMappingOptions(source)).toEqual(options);
  });

  it('takes a provider profile as it is, the same as the sidecar does', () => {
    const azure = createProvider({ kind: 'azure-openai', baseUrl: 'https://res.openai.azure.com', apiVersion: '2025-05-01-preview' });
    expect(sourceMappingOptions(azure)).toEqual({ providerName: 'azure.ai.openai', serverAddress: 'res.openai.azure.com', serverPort: 443 });
  });
});
