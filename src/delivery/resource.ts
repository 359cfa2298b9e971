/**
 * The OTLP resource. It holds nothing per-process (no pid, host or start time): the same records
 * exported twice, from any process, must give byte-identical requests, which backends collapse.
 */
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { PACKAGE_NAME } from '../version.js';

export interface ResourceOptions {
  /** `service.name`. @default 'assistants-otel' */
  serviceName?: string;
  /** Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`), in a stable order. */
  attributes?: Readonly<Record<string, string>>;
}

export function createResource(options: ResourceOptions = {}): Resource {
  const attributes: Record<string, string> = { ...options.attributes };
  attributes['service.name'] = options.serviceName ?? attributes['service.name'] ?? PACKAGE_NAME;
  const ordered: Record<string, string> = {};
  for (const key of Object.keys(attributes).sort()) ordered[key] = attributes[key] as string;
  return resourceFromAttributes(ordered);
}
