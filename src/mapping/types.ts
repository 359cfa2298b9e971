/**
 * What the mapping consumes and produces. `SpanData` is plain data (no SDK objects) so the mapper stays
 * a pure function; `delivery/` turns it into the SDK's `ReadableSpan` with the resource attached.
 */
import type { Attributes, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { Run, RunStep } from '../api/schemas.js';

/** One run and the steps seen for it. `run` is absent when only its steps were found. */
export interface RunRecord {
  runId: string;
  run?: Run | undefined;
  steps: RunStep[];
}

export interface MappingOptions {
  /**
   * `gen_ai.provider.name`: `openai`, `azure.ai.openai`, or whatever names the server.
   * @default 'openai'
   */
  providerName?: string;
  /** `server.address` / `server.port` of the API the records came from, when known. */
  serverAddress?: string;
  serverPort?: number;
  /**
   * Record content: function arguments and outputs, code interpreter input and logs, file search
   * results, run instructions. Off unless the user opts in
   * (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`).
   * @default false
   */
  captureContent?: boolean;
  /**
   * Content longer than this many characters is cut, and the cut is marked.
   * @default 8192
   */
  contentMaxLength?: number;
  /**
   * Every string attribute longer than this is cut (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`).
   * @default Infinity
   */
  attributeValueLengthLimit?: number;
  /**
   * A run whose record says it is still going, but which has finished steps, gets a run span anyway:
   * from its start to its last known activity, status UNSET, `assistants.run.unfinished=true`, with
   * the span ID the finished run span will have. For one-shot imports, which may never see the run
   * end; the sidecar leaves it off and exports the run span when the run ends.
   * @default false
   */
  unfinishedRunSpans?: boolean;
}

/** Which record a span stands for; delivery uses it to know what has been exported. */
export type SpanSubject =
  | { kind: 'run'; runId: string; synthesized: boolean }
  | { kind: 'step'; runId: string; stepId: string }
  | { kind: 'tool_call'; runId: string; stepId: string; toolCallKey: string };

/** Seconds and nanoseconds since the Unix epoch, as the SDK's `HrTime`. */
export type HrTime = [number, number];

export interface SpanEventData {
  name: string;
  time: HrTime;
  attributes: Attributes;
}

export interface SpanData {
  subject: SpanSubject;
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  /** The parent lives in another process (a `traceparent` from the run's metadata). */
  parentIsRemote: boolean;
  name: string;
  kind: SpanKind;
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  status: SpanStatus;
  events: SpanEventData[];
}
