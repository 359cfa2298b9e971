/**
 * What to export for a watched run: the whole run once it is finished, or (live mode) the steps
 * that finished since the last look. Reads the steps from the API and maps them; pure otherwise.
 */
import type { AssistantsClient, ItemRejection, ItemWarning } from '../api/client.js';
import { collectPages, listAllRunSteps } from '../api/pagination.js';
import { isStepTerminal } from '../api/lifecycle.js';
import type { Run } from '../api/schemas.js';
import { countSpans, type SpanCounts } from '../delivery/export-runs.js';
import { mapRunToSpans } from '../mapping/run-to-spans.js';
import type { MappingOptions, RunRecord, SpanData } from '../mapping/types.js';
import type { WatchedRun } from '../state/store.js';

/**
 * The run's records could not be turned into spans (an exception from the mapper: a bug, or a
 * record shape nobody foresaw). Polling again would fail again: the poller reports it once, counts
 * it, and stops watching the run.
 */
export class RunMappingError extends Error {
  override readonly name = 'RunMappingError';
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`run ${runId} cannot be mapped to spans: ${reason}`);
  }
}

/** `mapRunToSpans`, with any exception turned into a `RunMappingError` for this run. */
function mapContained(record: RunRecord, mapping: MappingOptions): SpanData[] {
  try {
    return mapRunToSpans(record, mapping);
  } catch (error) {
    throw new RunMappingError(record.runId, error instanceof Error ? error.message || error.name : String(error));
  }
}

export interface RunFollowup {
  spans: SpanData[];
  /** Steps whose spans are in `spans`. */
  stepIds: string[];
  counts: SpanCounts;
  rejected: ItemRejection[];
  warnings: ItemWarning[];
}

/**
 * A traceparent registered for the run parents its trace; it wins over one in the run's metadata,
 * being the more deliberate of the two.
 */
export function withRegisteredTraceparent(run: Run, traceparent: string | undefined): Run {
  if (!traceparent) return run;
  return { ...run, metadata: { ...(run.metadata ?? {}), traceparent } };
}

/**
 * Whether a step is already exported or on its way (live mode). Asked after the steps were listed,
 * never before: an export acknowledged while the listing was out must count.
 */
export type StepAlreadySent = (stepId: string) => boolean;

/** All spans of a finished run, minus the steps already exported (or on their way) in live mode. */
export async function exportSpansForRun(
  client: AssistantsClient,
  run: Run,
  watched: WatchedRun,
  alreadySent: StepAlreadySent,
  mapping: MappingOptions,
  signal?: AbortSignal,
): Promise<RunFollowup> {
  const page = await listAllRunSteps(client, watched.threadId, run.id, {}, signal);
  const spans = mapContained({ runId: run.id, run: withRegisteredTraceparent(run, watched.traceparent), steps: page.items }, mapping).filter(
    (span) => span.subject.kind === 'run' || !alreadySent(span.subject.stepId),
  );
  const stepIds = page.items.filter((s) => isStepTerminal(s) && !alreadySent(s.id)).map((s) => s.id);
  return { spans, stepIds, counts: countSpans(spans), rejected: page.rejected, warnings: page.warnings };
}

/**
 * Live mode: spans of the steps that finished and are neither exported nor on their way. Lists from
 * the last exported step on (steps finish in order; one that did not is caught when the run ends).
 */
export async function exportSpansForFinishedSteps(
  client: AssistantsClient,
  run: Run,
  watched: WatchedRun,
  alreadySent: StepAlreadySent,
  mapping: MappingOptions,
  signal?: AbortSignal,
): Promise<RunFollowup> {
  const cursor = watched.exportedStepIds.at(-1);
  const page = await collectPages((after, limit) =>
    client.listRunSteps(watched.threadId, run.id, { order: 'asc', limit, ...((after ?? cursor) ? { after: (after ?? cursor) as string } : {}) }, signal),
  );
  const finished = page.items.filter((s) => isStepTerminal(s) && !alreadySent(s.id));
  const spans = finished.length === 0 ? [] : mapContained({ runId: run.id, run: withRegisteredTraceparent(run, watched.traceparent), steps: finished }, mapping);
  return { spans, stepIds: finished.map((s) => s.id), counts: countSpans(spans), rejected: page.rejected, warnings: page.warnings };
}
