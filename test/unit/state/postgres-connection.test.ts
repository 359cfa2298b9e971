/**
 * The PostgreSQL store's error sorting (pure, no database): which failures are worth trying again,
 * messages for Node's AggregateError, and wrapped errors that name the store and its source but
 * never the password, even when the cause's own message holds it.
 */
import { describe, expect, it } from 'vitest';
import { describeError, isTransientDatabaseError, StateStoreError, StateStoreUnavailableError, wrapError } from '../../../src/state/postgres-connection.js';

const sqlError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isTransientDatabaseError', () => {
  it.each(['08006', '08001', '57P01', '57P03', '53300', '40001', '40P01', '55P03', '57014'])('SQLSTATE %s is transient', (code) => {
    expect(isTransientDatabaseError(sqlError(code))).toBe(true);
  });

  it.each(['28P01', '3D000', '42501', '42P01', '23505', '22021', '54000'])('SQLSTATE %s is not', (code) => {
    expect(isTransientDatabaseError(sqlError(code))).toBe(false);
  });

  it('connection failures without a SQLSTATE are transient; programming errors are not', () => {
    expect(isTransientDatabaseError(sqlError('ECONNREFUSED'))).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDatabaseError(new TypeError('bad'))).toBe(false);
    expect(isTransientDatabaseError(new StateStoreError('no'))).toBe(false);
    expect(isTransientDatabaseError(new StateStoreUnavailableError('later'))).toBe(true);
  });
});

describe('describeError and wrapError', () => {
  it('an AggregateError (one error per address tried) reads as its parts', () => {
    const error = new AggregateError([sqlError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'), sqlError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')], '');
    expect(describeError(error)).toBe('connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432');
    const wrapped = wrapError(error, { url: 'postgres://u:pw-1234@localhost/db', source: '--state' }, 'starting');
    expect(wrapped).toBeInstanceOf(StateStoreUnavailableError);
    expect(wrapped.code).toBe('ECONNREFUSED');
  });

  it('names the store and its source, keeps the SQLSTATE, and scrubs the password wherever it appears', () => {
    const target = { url: 'postgres://otel:p%40ss-word-9@db.example:5432/otel', source: 'ASSISTANTS_OTEL_STATE_URL' };
    const wrapped = wrapError(sqlError('28P01', 'password authentication failed; tried "p@ss-word-9" and p%40ss-word-9'), target, 'starting');
    expect(wrapped).toBeInstanceOf(StateStoreError);
    expect(wrapped.transient).toBe(false);
    expect(wrapped.code).toBe('28P01');
    expect(wrapped.message).toBe(
      'PostgreSQL state store postgres://otel:<redacted>@db.example:5432/otel (from ASSISTANTS_OTEL_STATE_URL): starting: password authentication failed; tried "<redacted>" and <redacted>',
    );
  });

  it('passes a StateStoreError through unchanged', () => {
    const original = new StateStoreError('already wrapped', '42501');
    expect(wrapError(original, { url: 'postgres://h/db' }, 'x')).toBe(original);
  });
});
