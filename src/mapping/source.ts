/**
 * Where records came from, as span attributes: `gen_ai.provider.name`, `server.address` and
 * `server.port`. Decided here, once, for every path that exports runs (the sidecar, `import`, the
 * library's `exportRecords`, the SDK instrumentation), so that the same run exported by any of
 * them carries the same attributes, and an identical resend is byte-identical whichever path sent it.
 * Pure: a URL is parsed, nothing else.
 */
import type { MappingOptions } from './types.js';

/** A provider profile has both fields (`createProvider(…)` / `ProviderProfile` can be passed as is). */
export interface RecordSource {
  /** `gen_ai.provider.name`: `openai`, `azure.ai.openai`, `azure.ai.agents`, or a custom name. */
  providerName: string;
  /** The API base URL the records were (or would be) read from; absent when unknown. */
  baseUrl?: string | undefined;
}

export type SourceMappingOptions = Pick<MappingOptions, 'providerName' | 'serverAddress' | 'serverPort'>;

/**
 * The mapping options for records from `source`: the provider name, and the API's host and port
 * (the scheme's default port when the URL names none). A base URL that is not a URL gives no
 * server attributes.
 */
export function sourceMappingOptions(source: RecordSource): SourceMappingOptions {
  const options: SourceMappingOptions = { providerName: source.providerName };
  if (source.baseUrl === undefined) return options;
  let url: URL;
  try {
    url = new URL(source.baseUrl);
  } catch {
    return options;
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : undefined;
  // `server.address` is the host name or address as is: an IPv6 address without its URL brackets.
  const address = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (address === '') return options;
  return { ...options, serverAddress: address, ...(port !== undefined ? { serverPort: port } : {}) };
}
