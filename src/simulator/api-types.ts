// The shapes of the records the simulator returns, as the spec defines them. Records a scenario
// breaks on purpose (`patch`, `inject-record`) do not match these types: only tests of malformed
// input create them, and they should read them as `unknown`.

export interface ApiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
export interface ApiError {
  code: string;
  message: string;
}

export interface ApiRun {
  id: string;
  object: 'thread.run';
  created_at: number;
  assistant_id: string;
  thread_id: string;
  status: 'queued' | 'in_progress' | 'requires_action' | 'cancelling' | 'cancelled' | 'failed' | 'completed' | 'incomplete' | 'expired';
  started_at: number | null;
  expires_at: number | null;
  cancelled_at: number | null;
  failed_at: number | null;
  completed_at: number | null;
  required_action: {
    type: 'submit_tool_outputs';
    submit_tool_outputs: { tool_calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] };
  } | null;
  last_error: ApiError | null;
  model: string;
  instructions: string | null;
  tools: unknown[];
  metadata: Record<string, string>;
  temperature: number | null;
  top_p: number | null;
  max_completion_tokens: number | null;
  max_prompt_tokens: number | null;
  truncation_strategy: unknown;
  incomplete_details: { reason?: string } | null;
  usage: ApiUsage | null;
  response_format: unknown;
  tool_choice: unknown;
  parallel_tool_calls: boolean;
}

export type ApiToolCall =
  | { id: string; type: 'function'; function: { name: string; arguments: string; output: string | null } }
  | {
      id: string;
      type: 'code_interpreter';
      code_interpreter: { input: string; outputs: ({ type: 'logs'; logs: string } | { type: 'image'; image: { file_id: string } })[] };
    }
  | {
      id: string;
      type: 'file_search';
      file_search: {
        ranking_options?: { ranker: string; score_threshold: number };
        results?: { file_id: string; file_name: string; score: number; content?: { type: 'text'; text: string }[] }[];
      };
    };

export type ApiStepDetails =
  | { type: 'message_creation'; message_creation: { message_id: string } }
  | { type: 'tool_calls'; tool_calls: ApiToolCall[] };

export interface ApiStep {
  id: string;
  object: 'thread.run.step';
  created_at: number;
  run_id: string;
  assistant_id: string;
  thread_id: string;
  type: 'message_creation' | 'tool_calls';
  status: 'in_progress' | 'cancelled' | 'failed' | 'completed' | 'expired';
  cancelled_at: number | null;
  completed_at: number | null;
  expired_at: number | null;
  failed_at: number | null;
  last_error: ApiError | null;
  step_details: ApiStepDetails;
  usage: ApiUsage | null;
  metadata: Record<string, string> | null;
}

export interface ApiThread {
  id: string;
  object: 'thread';
  created_at: number;
  metadata: Record<string, string>;
  tool_resources: Record<string, unknown>;
}

export interface ApiMessage {
  id: string;
  object: 'thread.message';
  created_at: number;
  assistant_id: string | null;
  thread_id: string;
  run_id: string | null;
  status: 'in_progress' | 'completed' | 'incomplete';
  incomplete_details: { reason: string } | null;
  incomplete_at: number | null;
  completed_at: number | null;
  role: 'user' | 'assistant';
  content: { type: 'text'; text: { value: string; annotations: unknown[] } }[];
  attachments: unknown[];
  metadata: Record<string, string>;
}

export interface ApiList<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}
