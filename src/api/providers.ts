/**
 * Provider profiles: where the API is, how to authenticate, what to add to every request.
 *
 * | kind            | base URL                                   | auth                                  | extra                      |
 * | openai          | `https://api.openai.com/v1` or any compatible | `Authorization: Bearer` key or token | `OpenAI-Beta: assistants=v2`, organization/project headers |
 * | azure-openai    | `{endpoint}/openai`                        | `api-key` header, or a bearer token   | `api-version` (required)   |
 * | azure-foundry   | the project endpoint `…/api/projects/{p}`  | bearer token (Entra ID)               | `api-version` (required)   |
 */
import { noCredentials, type Credentials } from './credentials.js';

export type ProviderKind = 'openai' | 'azure-openai' | 'azure-foundry';
export const PROVIDER_KINDS: readonly ProviderKind[] = ['openai', 'azure-openai', 'azure-foundry'];

export interface ProviderProfile {
  kind: ProviderKind;
  /** Without a trailing slash; request paths (`/threads/…`) are appended. */
  baseUrl: string;
  /** `gen_ai.provider.name` for the spans of this provider's runs. */
  providerName: string;
  /** Added to every request's query (`api-version`). */
  query: Readonly<Record<string, string>>;
  /** Added to every request. */
  headers: Readonly<Record<string, string>>;
  credentials: Credentials;
}

export interface ProviderOptions {
  /** @default 'openai' */
  kind?: ProviderKind;
  /** openai: the API base URL. azure-openai: the resource endpoint (`https://x.openai.azure.com`). azure-foundry: the project endpoint. */
  baseUrl?: string;
  credentials?: Credentials;
  /** Required for the Azure kinds. */
  apiVersion?: string;
  /** openai: `OpenAI-Organization`. */
  organization?: string;
  /** openai: `OpenAI-Project`. */
  project?: string;
  /** Overrides `gen_ai.provider.name`. */
  providerName?: string;
}

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

const PROVIDER_NAMES: Record<ProviderKind, string> = {
  openai: 'openai',
  'azure-openai': 'azure.ai.openai',
  // The conventions have no value for the Agent Service yet; a custom value is allowed.
  'azure-foundry': 'azure.ai.agents',
};

/** The default `gen_ai.provider.name` of a provider kind. */
export function providerNameOf(kind: ProviderKind): string {
  return PROVIDER_NAMES[kind];
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Builds a profile; throws a `TypeError` naming the missing option. Config errors name env vars in `config.ts`. */
export function createProvider(options: ProviderOptions): ProviderProfile {
  if (options.baseUrl !== undefined) {
    const url = new URL(options.baseUrl);
    if (url.username || url.password) throw new TypeError('baseUrl must not contain a user name or password; pass credentials instead');
  }
  const kind = options.kind ?? 'openai';
  const credentials = options.credentials ?? noCredentials;
  const providerName = options.providerName ?? PROVIDER_NAMES[kind];
  switch (kind) {
    case 'openai': {
      const headers: Record<string, string> = { 'OpenAI-Beta': 'assistants=v2' };
      if (options.organization) headers['OpenAI-Organization'] = options.organization;
      if (options.project) headers['OpenAI-Project'] = options.project;
      return { kind, baseUrl: trimSlash(options.baseUrl ?? DEFAULT_OPENAI_BASE_URL), providerName, query: {}, headers, credentials };
    }
    case 'azure-openai':
    case 'azure-foundry': {
      if (!options.baseUrl) throw new TypeError(`${kind}: the endpoint is required`);
      if (!options.apiVersion) throw new TypeError(`${kind}: api-version is required`);
      const base = trimSlash(options.baseUrl);
      const baseUrl = kind === 'azure-openai' && !base.endsWith('/openai') ? `${base}/openai` : base;
      // Azure does not declare OpenAI-Beta; the official SDK sends it anyway and it is harmless.
      return { kind, baseUrl, providerName, query: { 'api-version': options.apiVersion }, headers: { 'OpenAI-Beta': 'assistants=v2' }, credentials };
    }
    default: {
      const never: never = kind;
      throw new TypeError(`unknown provider kind ${String(never)}`);
    }
  }
}
