/**
 * The guard (src/instrumentation/guard.ts): a failure of ours never reaches the host; the first of
 * each kind is a warning, later ones are counted at debug level; an API error is logged without the
 * server's text.
 */
import { describe, expect, it } from 'vitest';
import { describeError, Guard } from '../../../src/instrumentation/guard.js';
import type { Logger } from '../../../src/util/log.js';
import { recordingLogger } from '../../support/recording-logger.js';

describe('Guard', () => {
  it('returns the fallback on a throw, warns once per kind, then counts at debug level', () => {
    const { logger, lines } = recordingLogger();
    const guard = new Guard(logger);
    const boom = () => {
      throw new Error('boom');
    };
    expect(guard.run('observing', boom, 'fallback')).toBe('fallback');
    expect(guard.run('observing', boom, 'fallback')).toBe('fallback');
    expect(guard.run('emitting', boom, 7)).toBe(7);
    expect(guard.run('observing', () => 'ok', 'fallback')).toBe('ok');
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'assistants-otel instrumentation: observing failed; the SDK call is unaffected'],
      ['debug', 'assistants-otel instrumentation: observing failed again'],
      ['warn', 'assistants-otel instrumentation: emitting failed; the SDK call is unaffected'],
    ]);
    expect(guard.counts()).toEqual({ observing: 2, emitting: 1 });
  });

  it('a logger that throws does not break the host either', () => {
    const explode = () => {
      throw new Error('logger down');
    };
    const broken: Logger = { debug: explode, info: explode, warn: explode, error: explode, child: () => broken };
    const guard = new Guard(broken);
    expect(guard.run('x', () => {
      throw new Error('first');
    }, 1)).toBe(1);
    expect(() => guard.warnOnce('k', 'message')).not.toThrow();
  });
});

describe('describeError', () => {
  it('an API error by its status and code only, never the server’s text (it may echo a key)', () => {
    const refused = Object.assign(new Error('401 Incorrect API key provided: sk-proj-****abcd'), { status: 401, code: 'invalid_api_key' });
    expect(describeError(refused)).toBe('the API answered HTTP 401 invalid_api_key');
    expect(describeError(Object.assign(new Error('Not found: secret path'), { statusCode: 404 }))).toBe('the API answered HTTP 404');
    expect(describeError(new Error('socket hang up'))).toBe('socket hang up');
    expect(describeError('a string')).toBe('a string');
  });
});
