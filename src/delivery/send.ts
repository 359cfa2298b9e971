/**
 * Delivering one batch of spans: retry what is worth retrying (429/502/503/504, timeouts, connection
 * errors) with backoff that honours `Retry-After`; split the batch in halves on 413; set aside what
 * the collector refuses for good (other 4xx, 500/501), so the caller can count and keep it.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AbortedError, backoffDelay, sleep, type BackoffPolicy } from '../util/backoff.js';
import { ExportAttemptError } from './otlp-transport.js';

export interface DeliveryRetryPolicy extends BackoffPolicy {
  /** Attempts per batch before giving up; `Infinity` for the sidecar, which never drops work. */
  maxAttempts: number;
}

/** One-shot commands: a few attempts, then report the failure and exit non-zero. */
export const ONE_SHOT_RETRY: DeliveryRetryPolicy = {
  maxAttempts: 5,
  initialDelayMillis: 500,
  maxDelayMillis: 8_000,
  multiplier: 2,
  jitterRatio: 0.2,
};

/** The sidecar: retry without a time limit; the API keeps the records, so waiting loses nothing. */
export const SIDECAR_RETRY: DeliveryRetryPolicy = {
  maxAttempts: Infinity,
  initialDelayMillis: 1_000,
  maxDelayMillis: 60_000,
  multiplier: 2,
  jitterRatio: 0.2,
};

export type BatchOutcome =
  | { kind: 'delivered'; spans: ReadableSpan[] }
  /** The collector refused these for good; kept aside for inspection, never retried. */
  | { kind: 'rejected'; spans: ReadableSpan[]; status: number | undefined; reason: string }
  /** A bounded policy ran out of attempts. */
  | { kind: 'gave_up'; spans: ReadableSpan[]; attempts: number; reason: string };

export interface RetryNotice {
  attempt: number;
  delayMillis: number;
  reason: string;
  status: number | undefined;
}

export interface SendOptions {
  policy: DeliveryRetryPolicy;
  /** Aborting stops waiting between attempts; `sendBatch` then rejects with `AbortedError`. */
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
  /** For tests: the randomness of the jitter. */
  random?: () => number;
}

/** One export call; rejects with `AbortedError` as soon as `signal` aborts, answered or not. */
function exportOnce(exporter: SpanExporter, spans: ReadableSpan[], signal?: AbortSignal): Promise<ExportResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    const onAbort = () => reject(new AbortedError());
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (result: ExportResult) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    try {
      exporter.export(spans, done);
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  });
}

interface AttemptFailure {
  retryable: boolean;
  status: number | undefined;
  retryAfterMillis: number | undefined;
  reason: string;
}

function classify(result: ExportResult): AttemptFailure {
  const error = result.error;
  if (error instanceof ExportAttemptError) {
    return { retryable: error.retryable, status: error.code, retryAfterMillis: error.retryAfterMillis, reason: error.message };
  }
  // Anything else comes from the exporter itself (say, too many exports in flight): transient.
  return { retryable: true, status: undefined, retryAfterMillis: undefined, reason: error?.message ?? 'export failed' };
}

async function sendWhole(exporter: SpanExporter, spans: ReadableSpan[], options: SendOptions): Promise<BatchOutcome[]> {
  for (let attempt = 1; ; attempt++) {
    const result = await exportOnce(exporter, spans, options.signal);
    if (result.code === ExportResultCode.SUCCESS) return [{ kind: 'delivered', spans }];
    const failure = classify(result);
    if (failure.status === 413) {
      if (spans.length === 1) return [{ kind: 'rejected', spans, status: 413, reason: 'a single span is larger than the collector accepts' }];
      const half = Math.ceil(spans.length / 2);
      return [
        ...(await sendWhole(exporter, spans.slice(0, half), options)),
        ...(await sendWhole(exporter, spans.slice(half), options)),
      ];
    }
    if (!failure.retryable) return [{ kind: 'rejected', spans, status: failure.status, reason: failure.reason }];
    if (attempt >= options.policy.maxAttempts) return [{ kind: 'gave_up', spans, attempts: attempt, reason: failure.reason }];
    const delayMillis = backoffDelay(options.policy, attempt, failure.retryAfterMillis, options.random);
    options.onRetry?.({ attempt, delayMillis, reason: failure.reason, status: failure.status });
    await sleep(delayMillis, options.signal);
  }
}

/**
 * Sends `spans` and reports what became of every one of them: delivered, rejected or given up,
 * possibly in several parts when a 413 made us split. Rejects only with `AbortedError`.
 */
export async function sendBatch(exporter: SpanExporter, spans: ReadableSpan[], options: SendOptions): Promise<BatchOutcome[]> {
  if (spans.length === 0) return [];
  if (options.signal?.aborted) throw new AbortedError();
  return sendWhole(exporter, spans, options);
}
