/**
 * What the sidecar remembers across restarts: what it watches, where discovery got to, and what has
 * been exported. One interface, two stores: a crash-safe local file (the default) and memory (tests).
 *
 * The rule that makes delivery exactly-once-or-identical: a run (or, in live mode, a step) is marked
 * exported only after the collector acknowledged its spans. A crash between the acknowledgement and
 * the mark means one identical resend after restart, never a loss and never a different span.
 * Every mutation is durable when its promise resolves (a registration is acknowledged only then).
 */

/** A thread whose new runs are discovered and traced. */
export interface WatchedThread {
  threadId: string;
  /**
   * Runs created at or after this time (Unix seconds, server clock) are traced even if they finished
   * before discovery saw them; older runs only if still active when first seen. 0 traces all history.
   */
  since: number;
  /** The newest run id discovery has seen; the next discovery lists runs after it. */
  cursor?: string;
  /**
   * The cursor run's `created_at` (Unix seconds, server clock), once seen: a listing stops below it
   * even if the cursor run was deleted (without it, the listing would page back to `since`).
   */
  cursorCreatedAt?: number;
  /** Epoch ms of the last time the thread had a new or active run; an idle thread is dropped after a TTL. */
  lastActivityAt: number;
}

/** A run being followed until it is terminal and exported. */
export interface WatchedRun {
  threadId: string;
  runId: string;
  /** A W3C traceparent registered for this run; parents its trace when the run's own metadata has none. */
  traceparent?: string;
  /** Live mode: steps whose spans the collector has acknowledged. */
  exportedStepIds: string[];
}

export interface StateSnapshot {
  threads: WatchedThread[];
  runs: WatchedRun[];
  /** Runs fully exported (run id → epoch ms), kept for a while so rediscovery never exports twice. */
  done: Record<string, number>;
  /** Spans the collector refused for good, set aside (counted, never resent). */
  setAsideSpans: number;
}

export interface StateStore {
  /** Reads what was persisted (empty on first start). Call once, before any mutation. */
  load(): Promise<StateSnapshot>;

  putThread(thread: WatchedThread): Promise<void>;
  removeThread(threadId: string): Promise<void>;
  putRun(run: WatchedRun): Promise<void>;
  /** Live mode: these steps were acknowledged. */
  markStepsExported(runId: string, stepIds: readonly string[]): Promise<void>;
  /** The run's spans were all acknowledged (or set aside): stop following it. */
  markRunDone(runId: string, at: number): Promise<void>;
  /** Forget a run without exporting it (DELETE /v1/watch). */
  removeRun(runId: string): Promise<void>;
  /** Forget `done` entries older than `before` (epoch ms). */
  pruneDone(before: number): Promise<void>;
  addSetAside(spans: number): Promise<void>;

  /** Writes everything durably and releases the store; mutations after this reject. */
  close(): Promise<void>;
}

export function emptySnapshot(): StateSnapshot {
  return { threads: [], runs: [], done: {}, setAsideSpans: 0 };
}

/**
 * The store's location cannot be used (a directory, a path under /proc, no permission, a
 * read-only or full file system): a start-up error, which the CLI reports against `--state`.
 */
export class StateLocationError extends Error {
  override readonly name = 'StateLocationError';
  constructor(
    /** The path (or a URL with its credentials redacted). */
    readonly location: string,
    /** The system error code (EACCES, EROFS, EISDIR…), when there is one. */
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a store reports besides the results of its calls. */
export interface StoreHooks {
  /** Damaged journal lines skipped, a stale lock broken, a compaction that failed and will be retried. */
  onWarning?: (message: string) => void;
  /** A write failed: the store accepts no more changes. Called once. */
  onFailure?: (error: Error) => void;
}
