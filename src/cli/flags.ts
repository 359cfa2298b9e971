/**
 * Flag groups shared by several commands, and how their values become configuration, so a flag
 * means the same thing (and is read the same way) everywhere.
 */
import type { ApiFlags, MappingFlags, OtlpFlags } from '../config.js';

/** Where the API is and how to reach it (`runs`, `steps`, `watch`). */
export const API_CONNECTION_FLAGS = {
  provider: { type: 'string' },
  'base-url': { type: 'string' },
  'api-version': { type: 'string' },
  'token-command': { type: 'string' },
  'max-concurrency': { type: 'string' },
  'max-rps': { type: 'string' },
  'max-retry-delay': { type: 'string' },
} as const;

/** Where spans go and what they hold (`import`, `watch`). */
export const EXPORT_FLAGS = {
  'otlp-endpoint': { type: 'string' },
  'otlp-protocol': { type: 'string' },
  'capture-content': { type: 'boolean' },
  'content-max-length': { type: 'string' },
} as const;

type Values<K extends string> = { [P in K]?: string | boolean | undefined };

export function apiFlags(values: Values<keyof typeof API_CONNECTION_FLAGS>): ApiFlags {
  return {
    provider: values.provider as string | undefined,
    baseUrl: values['base-url'] as string | undefined,
    apiVersion: values['api-version'] as string | undefined,
    tokenCommand: values['token-command'] as string | undefined,
    maxConcurrency: values['max-concurrency'] as string | undefined,
    maxRps: values['max-rps'] as string | undefined,
  };
}

export function otlpFlags(values: Values<'otlp-endpoint' | 'otlp-protocol'>): OtlpFlags {
  return { endpoint: values['otlp-endpoint'] as string | undefined, protocol: values['otlp-protocol'] as string | undefined };
}

export function mappingFlags(values: Values<'capture-content' | 'content-max-length' | 'provider-name'>): MappingFlags {
  return {
    captureContent: values['capture-content'] as boolean | undefined,
    contentMaxLength: values['content-max-length'] as string | undefined,
    providerName: values['provider-name'] as string | undefined,
  };
}
