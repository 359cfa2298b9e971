/**
 * Stream events → what they tell (src/instrumentation/stream.ts), and the incremental SSE parser
 * the Azure capture reads wire bytes with.
 */
import { describe, expect, it } from 'vitest';
import { classifyStreamEvent, parseEventData, SseParser } from '../../../src/instrumentation/stream.js';

describe('classifyStreamEvent', () => {
  it.each([
    ['thread.run.created', 'created'],
    ['thread.run.queued', 'other'],
    ['thread.run.in_progress', 'started'],
    ['thread.run.requires_action', 'requires_action'],
    ['thread.run.cancelling', 'other'],
    ['thread.run.completed', 'terminal'],
    ['thread.run.incomplete', 'terminal'],
    ['thread.run.failed', 'terminal'],
    ['thread.run.cancelled', 'terminal'],
    ['thread.run.expired', 'terminal'],
  ])('%s is a run event, phase %s', (event, phase) => {
    const run = { id: 'run_1', object: 'thread.run' };
    expect(classifyStreamEvent(event, run)).toEqual({ kind: 'run', event, record: run, runId: 'run_1', phase });
  });

  it.each([
    ['thread.run.step.created', 'created'],
    ['thread.run.step.in_progress', 'other'],
    ['thread.run.step.completed', 'terminal'],
    ['thread.run.step.failed', 'terminal'],
    ['thread.run.step.cancelled', 'terminal'],
    ['thread.run.step.expired', 'terminal'],
  ])('%s is a step event, phase %s', (event, phase) => {
    const step = { id: 'step_1', run_id: 'run_1' };
    expect(classifyStreamEvent(event, step)).toEqual({ kind: 'step', event, record: step, runId: 'run_1', stepId: 'step_1', phase });
  });

  it('a step delta gives its step id and the tool call ids it names', () => {
    const delta = { id: 'step_1', object: 'thread.run.step.delta', delta: { step_details: { type: 'tool_calls', tool_calls: [{ index: 0, id: 'call_a', type: 'function' }, { index: 1, type: 'function' }] } } };
    expect(classifyStreamEvent('thread.run.step.delta', delta)).toEqual({ kind: 'step_delta', runId: undefined, stepId: 'step_1', toolCallIds: ['call_a'] });
    expect(classifyStreamEvent('thread.run.step.delta', { id: 'step_2', delta: { step_details: { type: 'message_creation' } } })).toEqual({ kind: 'step_delta', runId: undefined, stepId: 'step_2', toolCallIds: [] });
  });

  it('done, error, and everything else', () => {
    expect(classifyStreamEvent('done', '[DONE]')).toEqual({ kind: 'done' });
    expect(classifyStreamEvent('error', { message: 'x' })).toEqual({ kind: 'error', data: { message: 'x' } });
    expect(classifyStreamEvent('thread.message.delta', {})).toEqual({ kind: 'other', event: 'thread.message.delta' });
    expect(classifyStreamEvent('thread.created', {})).toEqual({ kind: 'other', event: 'thread.created' });
    expect(classifyStreamEvent(undefined, {})).toEqual({ kind: 'other', event: '' });
  });

  it('a run event whose data has no id says so (runId undefined) instead of guessing', () => {
    expect(classifyStreamEvent('thread.run.created', 'not an object')).toMatchObject({ kind: 'run', runId: undefined });
  });
});

describe('SseParser', () => {
  it('parses events as the API frames them, whatever the chunking', () => {
    const text = 'event: thread.run.created\ndata: {"id":"run_1"}\n\nevent: done\ndata: [DONE]\n\n';
    for (let size = 1; size <= text.length; size += 7) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(new TextEncoder().encode(text.slice(i, i + size))));
      expect(events).toEqual([{ event: 'thread.run.created', data: '{"id":"run_1"}' }, { event: 'done', data: '[DONE]' }]);
    }
  });

  it('CRLF and CR line ends, comments, multi-line data, a field without a value', () => {
    const parser = new SseParser();
    expect(parser.push(': keep-alive\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\nevent: y\rdata\r\r\n')).toEqual([
      { event: 'x', data: 'a\nb' },
      { event: 'y', data: '' },
    ]);
  });

  it('a multi-byte character split across chunks survives', () => {
    const bytes = new TextEncoder().encode('data: {"t":"°C ☀"}\n\n');
    const parser = new SseParser();
    const events = [...parser.push(bytes.slice(0, 12)), ...parser.push(bytes.slice(12))];
    expect(events).toEqual([{ event: null, data: '{"t":"°C ☀"}' }]);
  });

  it('an event not ended by a blank line is not dispatched; a lone CR waits for its LF', () => {
    const parser = new SseParser();
    expect(parser.push('event: x\ndata: 1\r')).toEqual([]);
    expect(parser.push('\n\r\n')).toEqual([{ event: 'x', data: '1' }]);
    expect(parser.push('event: half\ndata: 2\n')).toEqual([]);
    parser.end();
    expect(parser.push('\n')).toEqual([]);
  });

  it('parseEventData: JSON, or the text as it is', () => {
    expect(parseEventData('{"a":1}')).toEqual({ a: 1 });
    expect(parseEventData('[DONE]')).toBe('[DONE]');
  });
});
