/**
 * Saved `text/event-stream` captures, read as the WHATWG HTML standard's "interpreting an event
 * stream" describes: lines end in CRLF, LF or CR; a blank line ends an event; `event:` names it
 * (default `message`), `data:` lines are joined with `\n`, one space after the colon is dropped;
 * `id:` and `retry:` are read and ignored; lines starting with `:` are comments; other fields are
 * ignored. Unlike a live client, an event not followed by a blank line at the end of the capture is
 * still delivered: a saved file often just stops.
 *
 * Each event is located by the line of its first field, and handed on as `{event, data}`: exactly
 * what a capture saved as JSONL holds, so both give the same spans.
 */

/** The first meaningful line of an event stream: a field name or a comment. JSON never starts so. */
const SSE_LINE = /^(?::|(?:event|data|id|retry)(?::|$))/;

export function looksLikeEventStream(firstLine: string): boolean {
  return SSE_LINE.test(firstLine);
}

export interface StreamEvent {
  event: string;
  data: string;
  /** 1-based line of the event's first field. */
  line: number;
}

/** Line by line, yields events as they complete. */
export class EventStreamParser {
  private eventName = '';
  private data: string[] = [];
  private firstLine: number | undefined;

  /** One line (without its end-of-line), numbered from 1. Returns the event it completes, if any. */
  push(line: string, lineNumber: number): StreamEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.firstLine ??= lineNumber;
    if (field === 'event') this.eventName = value;
    else if (field === 'data') this.data.push(value);
    // `id` and `retry` steer a live client's reconnection; a capture has no use for them.
    return undefined;
  }

  /** The end of the capture: the event still open, if it has data. */
  end(): StreamEvent | undefined {
    return this.dispatch();
  }

  private dispatch(): StreamEvent | undefined {
    const line = this.firstLine;
    const hasData = this.data.length > 0;
    const event = { event: this.eventName || 'message', data: this.data.join('\n'), line: line ?? 0 };
    this.eventName = '';
    this.data = [];
    this.firstLine = undefined;
    // An event without data is dropped, as a browser would.
    return hasData ? event : undefined;
  }
}
