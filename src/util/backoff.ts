/**
 * Sleeping and backing off, shared by the API client and OTLP delivery: both retry with jittered
 * exponential backoff, both must never retry before the server's `Retry-After`, and neither may
 * ever wait longer than the configured cap (`--max-retry-delay`), nor trip over Node's timer limit.
 */

/**
 * The longest delay a Node timer takes: `setTimeout` with more than 2^31-1 ms (~24.8 days) fires at
 * once, which turned a `Retry-After` of a few weeks into a hot loop. Every timer here stays below it.
 */
export const MAX_TIMER_MILLIS = 2 ** 31 - 1;

/** The longest wait between two attempts unless configured otherwise (`--max-retry-delay`). */
export const DEFAULT_MAX_RETRY_DELAY_MILLIS = 5 * 60_000;

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialDelayMillis: number;
  /** Ceiling for the exponential part (a longer `Retry-After` still wins, up to `delayCapMillis`). */
  maxDelayMillis: number;
  /** Growth per attempt. */
  multiplier: number;
  /** ± this fraction of the delay is random, so many clients do not retry in lockstep. */
  jitterRatio: number;
  /**
   * No wait between attempts is ever longer than this, `Retry-After` included (`--max-retry-delay`).
   * At most `MAX_TIMER_MILLIS`. @default DEFAULT_MAX_RETRY_DELAY_MILLIS (5 minutes)
   */
  delayCapMillis?: number;
  /**
   * A `Retry-After` longer than the cap: `wait-cap` waits the cap and tries again (the sidecar, which
   * never drops work); `give-up` stops at once with a message saying so (one-shot commands, whose
   * user is waiting). @default 'give-up'
   */
  longRetryAfter?: 'wait-cap' | 'give-up';
}

/** The cap a policy applies, made safe for timers whatever it was configured to. */
export function delayCapOf(policy: BackoffPolicy): number {
  const cap = policy.delayCapMillis ?? DEFAULT_MAX_RETRY_DELAY_MILLIS;
  return Number.isFinite(cap) && cap > 0 ? Math.min(cap, MAX_TIMER_MILLIS) : DEFAULT_MAX_RETRY_DELAY_MILLIS;
}

/** True when the server asked for a wait the policy will not make in full. */
export function exceedsDelayCap(policy: BackoffPolicy, retryAfterMillis: number | undefined): boolean {
  return retryAfterMillis !== undefined && retryAfterMillis > delayCapOf(policy);
}

/**
 * Delay before retry number `retry` (1 for the first retry): jittered exponential backoff, and with a
 * `Retry-After`, never less than it (the jitter only lengthens such a wait); never more than the
 * policy's cap. A `Retry-After: 0` does not turn the backoff off: retrying at once would hammer a
 * server that is already struggling.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, retryAfterMillis?: number, random: () => number = Math.random): number {
  const cap = delayCapOf(policy);
  const exponential = Math.min(policy.maxDelayMillis, policy.initialDelayMillis * policy.multiplier ** Math.max(0, retry - 1));
  const jittered = Math.round(exponential * (1 - policy.jitterRatio + 2 * policy.jitterRatio * random()));
  const wanted = retryAfterMillis === undefined || !Number.isFinite(retryAfterMillis)
    ? jittered
    : Math.max(jittered, Math.ceil(retryAfterMillis + policy.jitterRatio * retryAfterMillis * random()));
  return Math.min(cap, Math.max(0, wanted));
}

/** A duration for messages: `35 days`, `3 h`, `12 min`, `40 s`, `250 ms`. */
export function formatDuration(millis: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'days'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
  for (const [size, name] of units) {
    if (millis >= size) {
      const value = millis / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${name === 'days' && value === 1 ? 'day' : name}`;
    }
  }
  return `${Math.round(millis)} ms`;
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

/**
 * Resolves after `ms`, or rejects with `AbortedError` as soon as `signal` aborts. Safe for any
 * value: a wait beyond the timer limit is made of several timers, a negative or NaN one is 0.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    let left = Number.isNaN(ms) ? 0 : Math.max(0, ms);
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const arm = () => {
      const step = Math.min(left, MAX_TIMER_MILLIS);
      left -= step;
      timer = setTimeout(() => {
        if (left > 0) return arm();
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, step);
    };
    arm();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
