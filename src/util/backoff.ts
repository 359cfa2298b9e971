/**
 * Sleeping and backing off, shared by the API client and OTLP delivery: both retry with jittered
 * exponential backoff and both must never retry before the server's `Retry-After`.
 */

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialDelayMillis: number;
  /** Ceiling for the exponential part (a longer `Retry-After` still wins). */
  maxDelayMillis: number;
  /** Growth per attempt. */
  multiplier: number;
  /** ± this fraction of the delay is random, so many clients do not retry in lockstep. */
  jitterRatio: number;
}

/**
 * Delay before retry number `retry` (1 for the first retry): jittered exponential backoff, and with a
 * `Retry-After`, never less than it (the jitter only lengthens such a wait). A `Retry-After: 0`
 * does not turn the backoff off: retrying at once would hammer a server that is already struggling.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, retryAfterMillis?: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMillis, policy.initialDelayMillis * policy.multiplier ** Math.max(0, retry - 1));
  const jittered = Math.round(exponential * (1 - policy.jitterRatio + 2 * policy.jitterRatio * random()));
  if (retryAfterMillis === undefined) return jittered;
  return Math.max(jittered, Math.ceil(retryAfterMillis + policy.jitterRatio * retryAfterMillis * random()));
}

/** `Retry-After` as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export class AbortedError extends Error {
  override readonly name = 'AbortedError';
  constructor() {
    super('aborted');
  }
}

/** Resolves after `ms`, or rejects with `AbortedError` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
