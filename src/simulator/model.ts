// The simulator's internal state. Times are scenario seconds (see clock.ts); records.ts turns
// these objects into the API's JSON.
import type { RecordPatch, RunOutcome } from './scenario-schema.js';

export type RunStatus =
  | 'queued'
  | 'in_progress'
  | 'requires_action'
  | 'cancelling'
  | 'cancelled'
  | 'failed'
  | 'completed'
  | 'incomplete'
  | 'expired';
export type StepStatus = 'in_progress' | 'cancelled' | 'failed' | 'completed' | 'expired';

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['cancelled', 'failed', 'completed', 'incomplete', 'expired'];
export const isTerminalRun = (status: RunStatus): boolean => TERMINAL_RUN_STATUSES.includes(status);

export interface ErrorInfo {
  code: string;
  message: string;
}
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type CodeOutput = { kind: 'logs'; logs: string } | { kind: 'image'; fileId: string };
export interface FileSearchResult {
  fileId: string;
  fileName: string;
  score: number;
  content: string | null;
}

export type SimToolCall =
  | { kind: 'function'; id: string; name: string; arguments: string; output: string | null; scriptedOutput: string }
  | { kind: 'code_interpreter'; id: string; input: string; outputs: CodeOutput[] }
  | {
      kind: 'file_search';
      id: string;
      rankingOptions: { ranker: string; score_threshold: number } | null;
      results: FileSearchResult[];
    }
  | { kind: 'other'; id: string; type: string; fields: Record<string, unknown> };

export type StepContent =
  | { kind: 'message_creation'; messageId: string; text: string }
  | { kind: 'tool_calls'; toolCalls: SimToolCall[] }
  | { kind: 'other'; type: string; details: Record<string, unknown> };

/** Everything about a step that is known before it is created (compiled from the script). */
export interface StepPlan {
  id: string;
  content: StepContent;
  usage: Usage;
  metadata: Record<string, string> | null;
  patch: RecordPatch | undefined;
  finishStatus: 'completed' | 'failed';
  finishError: ErrorInfo;
}

export interface SimStep extends StepPlan {
  runId: string;
  threadId: string;
  assistantId: string;
  createdAt: number;
  status: StepStatus;
  lastError: ErrorInfo | null;
  completedAt: number | null;
  failedAt: number | null;
  cancelledAt: number | null;
  expiredAt: number | null;
  /** D1 quirk on demand: the run's deadline, rendered as an extra `expires_at` field; null = not rendered. */
  deadline: number | null;
}

export type SubmitBy = 'script' | 'client' | 'never';

/** One scripted transition; `at` is in active seconds since the run's creation (time in `requires_action` excluded). */
export type RunAction =
  | { at: number; kind: 'create' }
  | { at: number; kind: 'start' }
  | { at: number; kind: 'step-create'; plan: StepPlan }
  | { at: number; kind: 'step-finish'; stepId: string }
  | { at: number; kind: 'require-action'; stepId: string; by: SubmitBy; submitAfterSeconds: number }
  | { at: number; kind: 'end'; outcome: Exclude<RunOutcome, { status: 'expired' }> }
  | { at: number; kind: 'cancelled' };

/** Fields a run copies from its creation request or scenario (rendered verbatim). */
export interface RunConfig {
  assistantId: string;
  model: string;
  instructions: string | null;
  tools: unknown[];
  metadata: Record<string, string>;
  temperature: number;
  topP: number;
  maxPromptTokens: number | null;
  maxCompletionTokens: number | null;
  truncationStrategy: unknown;
  toolChoice: unknown;
  responseFormat: unknown;
  parallelToolCalls: boolean;
}

export interface SimRun {
  id: string;
  threadId: string;
  /** Creation order; breaks ties between runs due in the same instant. */
  seq: number;
  /** False until the scripted creation time (scenario runs with a later `startAt`). */
  visible: boolean;
  createdAt: number;
  config: RunConfig;
  status: RunStatus;
  startedAt: number | null;
  /** The deadline; rendered as null once the run ends any other way than expiring. */
  expiresAt: number;
  cancelledAt: number | null;
  failedAt: number | null;
  completedAt: number | null;
  lastError: ErrorInfo | null;
  incompleteReason: string | null;
  steps: SimStep[];
  patch: RecordPatch | undefined;
  /** Give this run's steps the `expires_at` field the spec's SSE examples and live captures show (D1). */
  stepExpiresAt: boolean;
  program: RunAction[];
  cursor: number;
  /** Absolute scenario time of active offset 0: creation time plus all time spent waiting for tool outputs. */
  activeOrigin: number;
  /** Time of the last transition: nothing is applied before it, so timestamps never go backwards. */
  lastAt: number;
  waiting: { stepId: string; by: SubmitBy; submitAt: number | null; actionAt: number } | null;
  /** Bumped on every reschedule, so older heap entries are recognised as stale. */
  version: number;
}

export interface SimThread {
  id: string;
  createdAt: number;
  metadata: Record<string, string>;
}

export interface SimMessage {
  id: string;
  threadId: string;
  createdAt: number;
  role: 'user' | 'assistant';
  text: string;
  assistantId: string | null;
  runId: string | null;
  status: 'in_progress' | 'completed' | 'incomplete';
  completedAt: number | null;
  incompleteAt: number | null;
  incompleteReason: string | null;
  /** Assistant messages show their text only once completed. */
  revealed: boolean;
}
