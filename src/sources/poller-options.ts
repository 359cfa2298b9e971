/**
 * The poller's options, hooks and stats (the poller itself: poller.ts).
 */
import type { RequestBudget } from '../api/budget.js';
import type { AssistantsClient } from '../api/client.js';
import type { ApiError } from '../api/errors.js';
import type { MappingOptions } from '../mapping/types.js';
import type { LeasingStateStore } from '../state/leasing.js';
import type { StateStore } from '../state/store.js';
import type { Logger } from '../util/log.js';
import type { DeliverySink, ExportHooks } from './run-exports.js';

export interface PollerHooks extends ExportHooks {
  onPausedChange?: (paused: boolean) => void;
  /** An authentication failure: the sidecar cannot go on. */
  onFatal?: (error: ApiError) => void;
  /** A thread or run no longer watched, and why (not found, idle past its TTL, malformed). */
  onDropped?: (kind: 'thread' | 'run', reason: 'not_found' | 'idle' | 'malformed') => void;
}

export interface PollerOptions {
  client: AssistantsClient;
  store: StateStore;
  /**
   * A fleet member: the same store, as a leasing one (PostgreSQL). The poller then follows only the
   * thread ids it holds leases on, and registrations go to the shared set (docs/fleet.md).
   */
  leases?: LeasingStateStore;
  delivery: DeliverySink;
  mapping: MappingOptions;
  /** Export each finished step as soon as it is seen, instead of the whole run at its end. */
  live: boolean;
  /** Active threads and runs are read this often; discovery starts at this pace. */
  pollIntervalMillis: number;
  /** Discovery on an idle thread slows down to this; failures back off up to it. @default 60000 */
  maxIdleIntervalMillis?: number;
  /**
   * Discovery keeps the poll interval this long after a thread's last activity (a conversation's
   * next turn usually comes within it), and only then slows down. @default 60000
   */
  idleGraceMillis?: number;
  /** A thread without new or active runs for this long is no longer watched. @default 86400000 */
  idleTtlMillis?: number;
  /** Trace every run of a thread, not only those created since it was first watched. @default false */
  backfill?: boolean;
  /**
   * Also export runs the library instrumentation marked as its own (`metadata.assistants_otel` =
   * `library`). Off by default: the library traces them, with finer times, and a second version of
   * the same spans would conflict in the backend. A run registered by id is exported either way.
   * @default false
   */
  includeLibraryRuns?: boolean;
  /** The API budget: work starts only while it has a free slot, earliest due first. @default the client's */
  budget?: Pick<RequestBudget, 'spare' | 'onSpare' | 'maxConcurrency' | 'requestsPerSecond'> & Partial<Pick<RequestBudget, 'isHeldOff'>>;
  logger?: Logger;
  hooks?: PollerHooks;
  now?: () => number;
  /** For the jitter of idle and backoff intervals. @default Math.random */
  random?: () => number;
}

export interface PollerStats {
  threads: number;
  runs: number;
  paused: boolean;
  /** Keys queued or in flight. */
  due: number;
  /** Keys due now and not started yet. */
  dueNow: number;
  /** How long the earliest due key has waited to start, ms. */
  overdueMillis: number;
  /** The poll interval plus the mean start delay over the last minute, ms. */
  effectiveIntervalMillis: number;
}
