/**
 * Which records are finished. Only terminal work becomes spans, and a terminal run is never polled
 * again, so these rules decide both what is exported and what is watched.
 *
 * Known statuses decide by name. A status we do not know yet is judged by its timestamps: terminal
 * once any of `completed_at`, `failed_at`, `cancelled_at`, `expired_at` is set. (`expires_at` is a
 * deadline, not an end, and is never read here.)
 */
import type { Run, RunStep } from './schemas.js';

export const TERMINAL_STEP_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'expired']);
export const ACTIVE_STEP_STATUSES: ReadonlySet<string> = new Set(['in_progress']);
export const TERMINAL_RUN_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'failed',
  'cancelled',
  'expired',
  'incomplete',
]);
export const ACTIVE_RUN_STATUSES: ReadonlySet<string> = new Set([
  'queued',
  'in_progress',
  'requires_action',
  'cancelling',
]);

/** The four timestamps that can close a run or a step. */
export interface EndTimestamps {
  completed_at?: number | null | undefined;
  failed_at?: number | null | undefined;
  cancelled_at?: number | null | undefined;
  expired_at?: number | null | undefined;
}

/** The end timestamps that are set, in the order the design lists them. */
export function endTimestamps(record: EndTimestamps): number[] {
  return [record.completed_at, record.failed_at, record.cancelled_at, record.expired_at].filter(
    (t): t is number => typeof t === 'number',
  );
}

function isTerminal(status: string | undefined, record: EndTimestamps, terminal: ReadonlySet<string>, active: ReadonlySet<string>): boolean {
  if (status !== undefined && terminal.has(status)) return true;
  if (status !== undefined && active.has(status)) return false;
  return endTimestamps(record).length > 0;
}

export function isStepTerminal(step: RunStep): boolean {
  return isTerminal(step.status, step, TERMINAL_STEP_STATUSES, ACTIVE_STEP_STATUSES);
}

export function isRunTerminal(run: Run): boolean {
  return isTerminal(run.status, run, TERMINAL_RUN_STATUSES, ACTIVE_RUN_STATUSES);
}
