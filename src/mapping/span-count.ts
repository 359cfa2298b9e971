/**
 * How many spans a run or a step will map to, without mapping it: for planning batches of whole runs
 * before the spans exist (a streaming import keeps a batch's records, not its spans, until it sends
 * them). Mirrors `run-to-spans.ts` rule for rule; a test holds the two together.
 */
import { isRunTerminal, isStepTerminal } from '../api/lifecycle.js';
import { classifyStepDetails, type Run, type RunStep } from '../api/schemas.js';
import type { MappingOptions } from './types.js';

/** A terminal step: its span plus one per tool call of a `tool_calls` step. Anything else: none. */
export function stepSpanCount(step: RunStep): number {
  if (!isStepTerminal(step)) return 0;
  if (step.step_details?.type !== 'tool_calls') return 1;
  const details = classifyStepDetails(step.step_details);
  return details.kind === 'tool_calls' ? 1 + details.details.tool_calls.length : 1;
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
