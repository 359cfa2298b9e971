/**
 * Delivering one batch of spans, made of groups (one run's spans each), whatever the exporter:
 * - retry what is worth retrying (failure.ts: 429/502/503/504, gRPC UNAVAILABLE…, timeouts,
 *   connection errors) with backoff that honours `Retry-After` / `RetryInfo`, up to the policy's
 *   cap; a `Retry-After` beyond the cap waits the cap (sidecar) or gives up at once (one-shot);
 * - split the batch in halves on 413 (gRPC RESOURCE_EXHAUSTED without RetryInfo);
 * - a batch the exporter cannot encode or that the collector refuses for its content (400, gRPC
 *   INVALID_ARGUMENT, a serializer that throws, a stack overflow) is bisected by group to find the
 *   run(s) at fault, which are set aside; every other run is delivered (poison isolation);
 * - a refusal whatever the content (401/403/404, UNAUTHENTICATED…) sets the batch aside as it is;
 * - a partial success is reported with the collector's count and message, never as delivered.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { AbortedError, backoffDelay, delayCapOf, exceedsDelayCap, formatDuration, sleep, type BackoffPolicy } from '../util/backoff.js';
import { PartialSuccessError } from './partial-success.js';
import { classifyExportError, type ExportFailure } from './failure.js';

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
  longRetryAfter: 'give-up',
};

/** The sidecar: retry without a time limit; the API keeps the records, so waiting loses nothing. */
export const SIDECAR_RETRY: DeliveryRetryPolicy = {
  maxAttempts: Infinity,
  initialDelayMillis: 1_000,
  maxDelayMillis: 60_000,
  multiplier: 2,
  jitterRatio: 0.2,
  longRetryAfter: 'wait-cap',
};

/**
 * A failure whose meaning is unknown (no error, a plain `Error`) is retried this many times (it
 * may be transient), then treated as the batch's fault, so that it cannot stop delivery forever.
 */
export const UNCLASSIFIED_ATTEMPTS = 3;

export type BatchOutcome =
  /** Acknowledged. `collectorWarning`: a partial success that rejected nothing but said something. */
  | { kind: 'delivered'; spans: ReadableSpan[]; collectorWarning?: string }
  /** Accepted, but the collector says it rejected `rejectedSpans` of them (OTLP partial success); which ones, it does not say. */
  | { kind: 'partially_rejected'; spans: ReadableSpan[]; rejectedSpans: number; message: string }
  /** The collector refused these for good; kept aside for inspection, never retried. */
  | { kind: 'rejected'; spans: ReadableSpan[]; status: number | undefined; grpcCode?: number; reason: string }
  /** The exporter could not encode or send these (a poisoned run); kept aside, never retried. */
  | { kind: 'unexportable'; spans: ReadableSpan[]; reason: string }
  /** A bounded policy ran out of attempts, or a `Retry-After` was beyond the cap (one-shot). */
  | { kind: 'gave_up'; spans: ReadableSpan[]; attempts: number; reason: string };

/** The outcomes that are not an acknowledgement. */
export type FailedOutcome = Exclude<BatchOutcome, { kind: 'delivered' } | { kind: 'partially_rejected' }>;

export interface RetryNotice {
  attempt: number;
  delayMillis: number;
  reason: string;
  status: number | undefined;
  /** The server asked for a longer wait than the cap; this wait is the cap. */
  capped: boolean;
}

export interface SendOptions {
  policy: DeliveryRetryPolicy;
  /** Aborting stops waiting between attempts; `sendBatch` then rejects with `AbortedError`. */
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
  /** For tests: the randomness of the jitter. */
  random?: () => number;
}

interface Attempt {
  result: ExportResult;
  /** The exporter threw instead of answering. */
  thrown: boolean;
}

/** One export call; rejects with `AbortedError` as soon as `signal` aborts, answered or not. */
function exportOnce(exporter: SpanExporter, spans: ReadableSpan[], signal?: AbortSignal): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    let settled = false;
    const onAbort = () => reject(new AbortedError());
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (result: ExportResult, thrown: boolean) => {
      if (settled) return; // an exporter that calls back twice, or throws after calling back
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve({ result, thrown });
    };
    try {
      exporter.export(spans, (result) => done(result, false));
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) }, true);
    }
  });
}

function acknowledged(spans: ReadableSpan[], result: ExportResult): BatchOutcome {
  if (!(result.error instanceof PartialSuccessError)) return { kind: 'delivered', spans };
  const { rejectedSpans, message } = result.error.partial;
  if (rejectedSpans === 0) return { kind: 'delivered', spans, collectorWarning: message };
  return { kind: 'partially_rejected', spans, rejectedSpans: Math.min(rejectedSpans, spans.length), message };
}

function halves<T>(items: T[]): [T[], T[]] {
  const half = Math.ceil(items.length / 2);
  return [items.slice(0, half), items.slice(half)];
}

async function sendEach(exporter: SpanExporter, parts: ReadableSpan[][][], options: SendOptions): Promise<BatchOutcome[]> {
  const outcomes: BatchOutcome[] = [];
  for (const groups of parts) outcomes.push(...(await sendGroupsOnce(exporter, groups, options)));
  return outcomes;
}

/** The batch is too large: halves by group, then (one group left) halves of its spans. */
function splitTooLarge(exporter: SpanExporter, groups: ReadableSpan[][], spans: ReadableSpan[], failure: ExportFailure, options: SendOptions): Promise<BatchOutcome[]> | BatchOutcome[] {
  if (groups.length > 1) return sendEach(exporter, halves(groups), options);
  if (spans.length === 1) {
    return [{ kind: 'rejected', spans, status: failure.status ?? 413, ...grpc(failure), reason: `a single span is larger than the collector accepts (${failure.reason})` }];
  }
  const [first, second] = halves(spans);
  return sendEach(exporter, [[first], [second]], options);
}

/** The batch's content is at fault: bisect by group to find the run(s), set those aside, deliver the rest. */
function isolate(exporter: SpanExporter, groups: ReadableSpan[][], spans: ReadableSpan[], failure: ExportFailure, options: SendOptions): Promise<BatchOutcome[]> | BatchOutcome[] {
  if (groups.length > 1) return sendEach(exporter, halves(groups), options);
  if (failure.kind === 'refused') return [{ kind: 'rejected', spans, status: failure.status, ...grpc(failure), reason: failure.reason }];
  return [{ kind: 'unexportable', spans, reason: failure.reason }];
}

function grpc(failure: ExportFailure): { grpcCode?: number } {
  return failure.grpcCode !== undefined ? { grpcCode: failure.grpcCode } : {};
}

async function sendGroupsOnce(exporter: SpanExporter, groups: ReadableSpan[][], options: SendOptions): Promise<BatchOutcome[]> {
  const spans = groups.length === 1 ? (groups[0] as ReadableSpan[]) : groups.flat();
  const { policy } = options;
  let unclassified = 0;
  for (let attempt = 1; ; attempt++) {
    const { result, thrown } = await exportOnce(exporter, spans, options.signal);
    if (result.code === ExportResultCode.SUCCESS) return [acknowledged(spans, result)];
    const failure = classifyExportError(result.error, thrown);
    switch (failure.kind) {
      case 'too_large':
        return splitTooLarge(exporter, groups, spans, failure, options);
      case 'refused':
      case 'unexportable':
        return isolate(exporter, groups, spans, failure, options);
      case 'endpoint_refused':
        return [{ kind: 'rejected', spans, status: failure.status, ...grpc(failure), reason: failure.reason }];
      case 'unclassified':
        if (++unclassified >= UNCLASSIFIED_ATTEMPTS) {
          return isolate(exporter, groups, spans, { ...failure, kind: 'unexportable', reason: `${failure.reason} (failed ${unclassified} times, with no sign of a network problem)` }, options);
        }
        break;
      case 'retryable':
        break;
      default: {
        const never: never = failure.kind;
        throw new TypeError(`unknown failure kind ${String(never)}`);
      }
    }
    const capped = exceedsDelayCap(policy, failure.retryAfterMillis);
    if (capped && (policy.longRetryAfter ?? 'give-up') === 'give-up') {
      const reason = `the collector asked to wait ${formatDuration(failure.retryAfterMillis as number)} (${failure.reason}), longer than the longest wait allowed (${formatDuration(delayCapOf(policy))}, --max-retry-delay); giving up`;
      return [{ kind: 'gave_up', spans, attempts: attempt, reason }];
    }
    if (attempt >= policy.maxAttempts) return [{ kind: 'gave_up', spans, attempts: attempt, reason: failure.reason }];
    const delayMillis = backoffDelay(policy, attempt, failure.retryAfterMillis, options.random);
    options.onRetry?.({ attempt, delayMillis, reason: failure.reason, status: failure.status, capped });
    await sleep(delayMillis, options.signal);
  }
}

/**
 * Sends `groups` (each one run's spans, or part of one) as one request, and reports what became of
 * every span: delivered, partially rejected, rejected, unexportable or given up, possibly in
 * several parts after splitting. Rejects only with `AbortedError`.
 */
export async function sendGroups(exporter: SpanExporter, groups: ReadableSpan[][], options: SendOptions): Promise<BatchOutcome[]> {
  const nonEmpty = groups.filter((g) => g.length > 0);
  if (nonEmpty.length === 0) return [];
  if (options.signal?.aborted) throw new AbortedError();
  return sendGroupsOnce(exporter, nonEmpty, options);
}

/** `sendGroups` for one group: the spans of one run (or of runs that stand or fall together). */
export function sendBatch(exporter: SpanExporter, spans: ReadableSpan[], options: SendOptions): Promise<BatchOutcome[]> {
  return sendGroups(exporter, [spans], options);
}
