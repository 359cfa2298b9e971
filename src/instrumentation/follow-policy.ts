/**
 * When the tracker reads a run itself: a pure decision from what it knows about the run and the
 * time. The rules (README "Library", "Runs not streamed"):
 *
 * - a run that ended is finished (its spans made), never read again;
 * - while a stream of it is being read, nothing but a safety read at its deadline;
 * - while the application reads it itself, nothing until its reads stop for a while;
 * - waiting for tool outputs the application saw it must give: nothing until the deadline;
 * - otherwise one poll interval after the last status seen, doubling after failures, past the
 *   deadline, and while waiting for outputs only we saw asked for; given up an hour past the deadline.
 */
import type { FollowedRun } from './followed-run.js';

/** Read a run waiting for outputs (or a silent stream) this long after its deadline. */
export const DEADLINE_GRACE_MILLIS = 5_000;
/** The API's default run lifetime, when a record does not say. */
export const DEFAULT_RUN_LIFETIME_SECONDS = 600;
/** Own reads back off up to this after failures or past the deadline. */
export const MAX_BACKOFF_MILLIS = 60_000;
/** How long one read by the application holds ours off (at least; 3× its own pace if slower). */
export const APP_READ_HOLD_MILLIS = 10_000;
/** Past its deadline, a run that is still not over is given up after this long. */
export const GIVE_UP_AFTER_DEADLINE_MILLIS = 3_600_000;

export type NextStep = { kind: 'finish' } | { kind: 'give_up' } | { kind: 'read'; at: number };

/** The local time by which the run must have ended (its `expires_at`), plus a grace. */
export function deadlineOf(followed: FollowedRun): number {
  const run = followed.run;
  const lifetime = run?.expires_at != null && run.created_at !== undefined ? run.expires_at - run.created_at : DEFAULT_RUN_LIFETIME_SECONDS;
  const start = followed.seen.run.start ?? followed.firstSeenAt;
  return start + Math.max(0, lifetime) * 1000 + DEADLINE_GRACE_MILLIS;
}

/** The application read the run at `at`: ours wait, unless what it saw ends its own polling. */
export function holdForApplicationRead(followed: FollowedRun, at: number): void {
  const gap = followed.lastAppReadAt === undefined ? 0 : at - followed.lastAppReadAt;
  followed.lastAppReadAt = at;
  const stops = followed.isTerminal() || followed.run?.status === 'requires_action';
  followed.appReadHoldUntil = stops ? 0 : at + Math.max(APP_READ_HOLD_MILLIS, 3 * gap);
}

export function nextStep(followed: FollowedRun, now: number, pollIntervalMillis: number): NextStep {
  if (followed.isTerminal()) return { kind: 'finish' };
  const deadline = deadlineOf(followed);
  if (now > deadline + GIVE_UP_AFTER_DEADLINE_MILLIS) return { kind: 'give_up' };
  if (followed.streams > 0) return { kind: 'read', at: deadline }; // the stream reports; the deadline is the safety net
  if (now < followed.appReadHoldUntil) return { kind: 'read', at: Math.min(deadline, followed.appReadHoldUntil) };
  const waiting = followed.run?.status === 'requires_action';
  if (waiting && followed.waiting?.seenBy === 'app' && now < deadline) return { kind: 'read', at: deadline }; // the application will submit
  // Backoff after failures, past the deadline, and while waiting for outputs only we saw asked for.
  const doublings = followed.failures + (now >= deadline ? 1 + followed.readsPastDeadline : 0) + (waiting ? (followed.waiting?.ownReads ?? 0) : 0);
  const since = Math.max(followed.lastStatusAt, followed.lastOwnReadAt ?? -Infinity);
  return { kind: 'read', at: since + Math.min(MAX_BACKOFF_MILLIS, pollIntervalMillis * 2 ** Math.min(6, doublings)) };
}
