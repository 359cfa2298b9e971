// Server-sent events in the API's framing: `event: <name>` and `data: <one JSON object>`, then
// `event: done` / `data: [DONE]` once the run ends or needs tool outputs.
import type { ServerResponse } from 'node:http';
import type { StreamEvent } from './run-machine.js';

/** After these events the API closes the stream (a new one starts with submit_tool_outputs). */
const STREAM_ENDERS = new Set([
  'thread.run.requires_action',
  'thread.run.completed',
  'thread.run.incomplete',
  'thread.run.failed',
  'thread.run.cancelled',
  'thread.run.expired',
]);

export interface EventStream {
  /** Writes one event; returns false once the stream has ended. */
  send(event: StreamEvent): boolean;
  /** Ends the stream with `done` (if it is still open). */
  finish(): void;
  readonly ended: boolean;
}

export function openEventStream(res: ServerResponse, headers: Record<string, string>, includeContent: boolean, onEnd: () => void): EventStream {
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  res.on('close', end);
  const stream: EventStream = {
    get ended() {
      return ended;
    },
    send(event) {
      if (ended) return false;
      const data = includeContent && event.dataWithContent !== undefined ? event.dataWithContent : event.data;
      res.write(`event: ${event.event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (STREAM_ENDERS.has(event.event)) stream.finish();
      return !ended;
    },
    finish() {
      if (ended) return;
      res.end('event: done\ndata: [DONE]\n\n');
      end();
    },
  };
  return stream;
}
