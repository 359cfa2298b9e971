/**
 * Where a record without any usable time goes (README "Time rules"). Time never costs a record:
 * a mock server's `created_at: 0, completed_at: 0` step is still a span, placed by its relatives
 * and marked `time_unknown`, so a user can see why it is where it is.
 *
 * - A step: at its run's start. The run's own start (`created_at`, else `started_at` or its end
 *   times), else the earliest start of the run's steps that have a time.
 * - A run: from its steps' earliest start to their latest end.
 * - Nothing in the whole run has a usable time: at `UNKNOWN_TIME_SECONDS` (2015-01-01T00:00:00Z, the
 *   lower bound of plausible times, so no real record can be mistaken for it), quirk
 *   `time_placeholder`.
 *
 * Such spans are zero-length unless their children say otherwise. Pure: no clock, so the same
 * records always land in the same place.
 */
import { EARLIEST_PLAUSIBLE_SECONDS } from '../api/timestamps.js';
import type { Run, RunStep } from '../api/schemas.js';
import { ownStartOf, type Placement } from './time.js';
import type { RunRecord } from './types.js';

/** 2015-01-01T00:00:00Z: where a run none of whose records has a usable time is placed. */
export const UNKNOWN_TIME_SECONDS = EARLIEST_PLAUSIBLE_SECONDS;
/** The span sits at `UNKNOWN_TIME_SECONDS`: nothing in its run said when it happened. */
export const QUIRK_TIME_PLACEHOLDER = 'time_placeholder';

/** A run's start by its own record: `created_at`, else `started_at` or its end times. */
export function runOwnStart(run: Run): number | undefined {
  return ownStartOf(run.created_at, run, [run.started_at]);
}

/** A step's start by its own record: `created_at`, else its end times. */
export function stepOwnStart(step: RunStep): number | undefined {
  return ownStartOf(step.created_at, step);
}

/** The earliest start of the steps that have a time of their own (finished or not). */
export function stepsEarliestStart(steps: readonly RunStep[]): number | undefined {
  let earliest: number | undefined;
  for (const step of steps) {
    const start = stepOwnStart(step);
    if (start !== undefined && (earliest === undefined || start < earliest)) earliest = start;
  }
  return earliest;
}

/**
 * When a run started, as far as its records say (the run's own start, else its steps' earliest),
 * or undefined when none of them has a usable time. Used to order runs as their spans are placed.
 */
export function runStartOf(record: RunRecord): number | undefined {
  const own = record.run ? runOwnStart(record.run) : undefined;
  return own ?? stepsEarliestStart(record.steps.filter((s) => s.run_id === record.runId));
}

/**
 * Where the records of a run that have no usable time go: the run's start (see `runStartOf`), or
 * the placeholder instant when nothing in the run has a time.
 */
export function untimedPlacement(runStart: number | undefined): Placement {
  return runStart === undefined ? { start: UNKNOWN_TIME_SECONDS, quirks: [QUIRK_TIME_PLACEHOLDER] } : { start: runStart, quirks: [] };
}
