/**
 * `EventStreamParser` against the WHATWG "interpreting an event stream" rules it follows (and the
 * one deliberate difference: an event at the end of a capture without a blank line is kept).
 */
import { describe, expect, it } from 'vitest';
import { EventStreamParser, looksLikeEventStream, type StreamEvent } from '../../../src/sources/sse.js';

function parse(text: string): StreamEvent[] {
  const parser = new EventStreamParser();
  const events: StreamEvent[] = [];
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    const event = parser.push(line, i + 1);
    if (event) events.push(event);
  });
  const last = parser.end();
  if (last) events.push(last);
  return events;
}

describe('EventStreamParser', () => {
  it('an event: its name, its data, the line of its first field', () => {
    expect(parse('event: thread.run.completed\ndata: {"id":"run_1"}\n\n')).toEqual([{ event: 'thread.run.completed', data: '{"id":"run_1"}', line: 1 }]);
  });

  it('several data lines are joined with a newline', () => {
    expect(parse('data: {"a":1,\ndata: "b":2}\n\n')).toEqual([{ event: 'message', data: '{"a":1,\n"b":2}', line: 1 }]);
  });

  it('CRLF, LF and lone CR all end a line', () => {
    const events = parse('event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\revent: c\ndata: 3\n\n');
    expect(events.map((e) => [e.event, e.data, e.line])).toEqual([
      ['a', '1', 1],
      ['b', '2', 4],
      ['c', '3', 7],
    ]);
  });

  it('comments, id and retry are skipped; unknown fields ignored', () => {
    expect(parse(': hello\nretry: 3000\nid: 7\nevent: x\nfoo: bar\ndata: d\n: mid-event comment\n\n')).toEqual([{ event: 'x', data: 'd', line: 2 }]);
  });

  it('only one space after the colon is dropped; a field without colon has an empty value', () => {
    expect(parse('data:  two spaces\n\n').map((e) => e.data)).toEqual([' two spaces']);
    expect(parse('data:nospace\n\n').map((e) => e.data)).toEqual(['nospace']);
    expect(parse('data\ndata\n\n').map((e) => e.data)).toEqual(['\n']);
  });

  it('an event without data is dropped; the event name does not leak into the next event', () => {
    expect(parse('event: lonely\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x', line: 3 }]);
  });

  it('an event still open at the end of the capture is kept', () => {
    expect(parse('event: done\ndata: [DONE]')).toEqual([{ event: 'done', data: '[DONE]', line: 1 }]);
  });

  it('several blank lines in a row dispatch nothing extra', () => {
    expect(parse('data: 1\n\n\n\ndata: 2\n\n')).toHaveLength(2);
  });
});

describe('looksLikeEventStream', () => {
  it.each([
    ['event: thread.run.created', true],
    ['data: {}', true],
    ['data', true],
    ['id: 1', true],
    ['retry: 10', true],
    [': comment', true],
    ['{"event":"thread.run.created"}', false],
    ['[1, 2]', false],
    ['eventually: no', false],
    ['database: no', false],
    ['this line is not JSON', false],
  ])('%s → %s', (line, expected) => {
    expect(looksLikeEventStream(line as string)).toBe(expected);
  });
});
