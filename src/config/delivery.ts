/**
 * How long delivery may wait, and how much it may hold: the retry delay cap (every wait between
 * two attempts, API and collector, `Retry-After` included) and the delivery queue's bounds.
 */
import { DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_SPANS } from '../delivery/pipeline.js';
import { DEFAULT_MAX_RETRY_DELAY_MILLIS } from '../util/backoff.js';
import { ConfigError, firstSet, parseByteSize, parsePositiveInteger, parseTimerDuration, type Env } from './parse.js';

export interface DeliveryFlags {
  /** `--max-retry-delay` */
  maxRetryDelay?: string | undefined;
  /** `--max-queued-spans` */
  maxQueuedSpans?: string | undefined;
  /** `--max-queued-bytes` */
  maxQueuedBytes?: string | undefined;
}

export interface DeliveryLimits {
  /** The longest wait between two attempts, ms. */
  maxRetryDelayMillis: number;
  maxQueuedSpans: number;
  maxQueuedBytes: number;
}

/** The smallest byte bound accepted: below it, ordinary spans would be set aside as too large for the queue. */
const MIN_QUEUED_BYTES = 64 * 1024;

function flagOrEnv(flag: string | undefined, flagName: string, env: Env, variable: string): { name: string; value: string } | undefined {
  return flag !== undefined ? { name: flagName, value: flag } : firstSet(env, variable);
}

/** `--max-retry-delay` / `ASSISTANTS_OTEL_MAX_RETRY_DELAY` (a duration, default 5m, at most 24d: Node's timers stop there). */
export function retryDelayCapFromEnv(env: Env, flag?: string): number {
  const source = flagOrEnv(flag, '--max-retry-delay', env, 'ASSISTANTS_OTEL_MAX_RETRY_DELAY');
  if (!source) return DEFAULT_MAX_RETRY_DELAY_MILLIS;
  return parseTimerDuration(source.value, source.name);
}

/** The cap and the queue bounds (`--max-queued-spans` / `ASSISTANTS_OTEL_MAX_QUEUED_SPANS`, `--max-queued-bytes` / `ASSISTANTS_OTEL_MAX_QUEUED_BYTES`). */
export function deliveryOptionsFromEnv(env: Env, flags: DeliveryFlags = {}): DeliveryLimits {
  const spans = flagOrEnv(flags.maxQueuedSpans, '--max-queued-spans', env, 'ASSISTANTS_OTEL_MAX_QUEUED_SPANS');
  const bytes = flagOrEnv(flags.maxQueuedBytes, '--max-queued-bytes', env, 'ASSISTANTS_OTEL_MAX_QUEUED_BYTES');
  const maxQueuedBytes = bytes ? parseByteSize(bytes.value, bytes.name) : DEFAULT_MAX_QUEUED_BYTES;
  if (bytes && maxQueuedBytes < MIN_QUEUED_BYTES) throw new ConfigError(bytes.name, `at least 64KiB, got "${bytes.value}"`);
  return {
    maxRetryDelayMillis: retryDelayCapFromEnv(env, flags.maxRetryDelay),
    maxQueuedSpans: spans ? parsePositiveInteger(spans.value, spans.name, 'a whole number of spans') : DEFAULT_MAX_QUEUED_SPANS,
    maxQueuedBytes,
  };
}
