/**
 * How many spans a run or a step will map to, without mapping it: for planning batches of whole runs
 * before the spans exist (a streaming import keeps a batch's records, not its spans, until it sends
 * them). Mirrors `run-to-spans.ts` rule for rule, for validated records; a test holds the two
 * together. A count that were off would only make a batch a little smaller or larger than planned:
 * requests are packed again from the mapped spans.
 */
import { isRunTerminal, isStepTerminal } from '../api/lifecycle.js';
import type { Run, RunStep } from '../api/schemas.js';
import type { MappingOptions } from './types.js';

/**
 * A terminal step: its span plus one per tool call of a `tool_calls` step. Anything else: none.
 * Validation keeps every entry of `tool_calls` as a call (one it cannot read becomes an `unknown`
 * call), so the length of the list is the count the mapper's `classifyStepDetails` gives, without
 * parsing the details a second time; only absurd details (a call whose `id` is not a string) map
 * to fewer spans than counted.
 */
export function stepSpanCount(step: RunStep): number {
  if (!isStepTerminal(step)) return 0;
  const details = step.step_details as { type?: unknown; tool_calls?: unknown } | undefined;
  return details?.type === 'tool_calls' && Array.isArray(details.tool_calls) ? 1 + details.tool_calls.length : 1;
}

/**
 * Whether the run gets a run span: a terminal run always; a run still going only as an unfinished
 * run span over finished steps (when asked for); a run known only by its steps when one finished.
 */
export function hasRunSpan(run: Run | undefined, terminalSteps: number, options: MappingOptions = {}): boolean {
  if (run === undefined) return terminalSteps > 0;
  if (isRunTerminal(run)) return true;
  return options.unfinishedRunSpans === true && terminalSteps > 0;
}
