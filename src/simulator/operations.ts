/**
 * The operations the simulator serves, named by the spec's `operationId`s (including the spec's own
 * spelling `submitToolOuputsToRun`), so counters and fault rules use the names the spec uses.
 */
export const OPERATIONS = [
  'createThread',
  'getThread',
  'createThreadAndRun',
  'listRuns',
  'createRun',
  'getRun',
  'submitToolOuputsToRun',
  'cancelRun',
  'listRunSteps',
  'getRunStep',
  'listMessages',
  'createMessage',
] as const;

export type OperationId = (typeof OPERATIONS)[number];

/** The list operations: the only ones a record-injection fault can apply to. */
export const LIST_OPERATIONS: readonly OperationId[] = ['listRuns', 'listRunSteps', 'listMessages'];
