/**
 * Stream events → records. The Assistants stream carries whole run and run-step objects in its
 * `thread.run.*` and `thread.run.step.*` events (the same JSON the API returns for a GET), so a
 * stream that was followed from `thread.run.created` to the run's end holds every record the
 * mapping needs, with no extra request. Deltas are only read for the tool call IDs of a step (so
 * that the application's tool code can be parented to its tool call span before the step ends).
 */

export type StreamObservation =
  | { kind: 'run'; event: string; record: unknown; runId: string | undefined; phase: RunPhase }
  | { kind: 'step'; event: string; record: unknown; runId: string | undefined; stepId: string | undefined; phase: StepPhase }
  | { kind: 'step_delta'; runId: string | undefined; stepId: string | undefined; toolCallIds: string[] }
  /** `done`: the server closed the stream normally. */
  | { kind: 'done' }
  /** `error`: the server reported an error on the stream. */
  | { kind: 'error'; data: unknown }
  /** Thread and message events, and any event we do not know. */
  | { kind: 'other'; event: string };

export type RunPhase = 'created' | 'started' | 'requires_action' | 'terminal' | 'other';
export type StepPhase = 'created' | 'terminal' | 'other';

const TERMINAL_RUN_EVENTS = new Set(['completed', 'incomplete', 'failed', 'cancelled', 'expired']);
const TERMINAL_STEP_EVENTS = new Set(['completed', 'failed', 'cancelled', 'expired']);

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' && field !== '' ? field : undefined;
}

function deltaToolCallIds(data: unknown): string[] {
  const calls = (data as { delta?: { step_details?: { tool_calls?: unknown } } } | null)?.delta?.step_details?.tool_calls;
  if (!Array.isArray(calls)) return [];
  return calls.map((call) => stringField(call, 'id')).filter((id): id is string => id !== undefined);
}

/** What one stream event tells about the run. `data` is the event's parsed JSON. */
export function classifyStreamEvent(event: string | null | undefined, data: unknown): StreamObservation {
  const name = event ?? '';
  if (name === 'done') return { kind: 'done' };
  if (name === 'error') return { kind: 'error', data };
  if (name === 'thread.run.step.delta') {
    // A delta's `id` is its step's id; the run is not named in it.
    return { kind: 'step_delta', runId: undefined, stepId: stringField(data, 'id'), toolCallIds: deltaToolCallIds(data) };
  }
  if (name.startsWith('thread.run.step.')) {
    const what = name.slice('thread.run.step.'.length);
    const phase: StepPhase = what === 'created' ? 'created' : TERMINAL_STEP_EVENTS.has(what) ? 'terminal' : 'other';
    return { kind: 'step', event: name, record: data, runId: stringField(data, 'run_id'), stepId: stringField(data, 'id'), phase };
  }
  if (name.startsWith('thread.run.')) {
    const what = name.slice('thread.run.'.length);
    const phase: RunPhase =
      what === 'created' ? 'created'
        : what === 'in_progress' ? 'started'
          : what === 'requires_action' ? 'requires_action'
            : TERMINAL_RUN_EVENTS.has(what) ? 'terminal'
              : 'other';
    return { kind: 'run', event: name, record: data, runId: stringField(data, 'id'), phase };
  }
  return { kind: 'other', event: name };
}

/** One server-sent event as it came over the wire. */
export interface SseEvent {
  event: string | null;
  data: string;
}

/**
 * An incremental parser for `text/event-stream` (the WHATWG rules that matter here: `event:` and
 * `data:` fields, multi-line data joined by newlines, comments, CR/LF/CRLF line ends, an event
 * dispatched at a blank line). Fed bytes as they arrive; returns the events completed so far.
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private event: string | null = null;
  private data: string[] = [];

  push(chunk: Uint8Array | string): SseEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A lone CR at the end may be the first half of CRLF: wait for more.
      if (!match || (match[0] === '\r' && match.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const done = this.line(line);
      if (done) events.push(done);
    }
    return events;
  }

  /** The stream ended: an event not yet terminated by a blank line is dropped, as the standard says. */
  end(): void {
    this.buffer = '';
    this.event = null;
    this.data = [];
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0 && this.event === null) return undefined;
      const out: SseEvent = { event: this.event, data: this.data.join('\n') };
      this.event = null;
      this.data = [];
      return out;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    return undefined;
  }
}

/** An SSE event's data as JSON, or the text itself when it is not JSON (`[DONE]`). */
export function parseEventData(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}
