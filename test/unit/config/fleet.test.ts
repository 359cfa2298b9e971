/**
 * `--lease` / `ASSISTANTS_OTEL_LEASE` and `--member-id` / `ASSISTANTS_OTEL_MEMBER_ID`: defaults,
 * flags over variables, bounds, and errors naming the flag or variable; only for a PostgreSQL state.
 */
import { describe, expect, it } from 'vitest';
import { fleetConfigFromEnv } from '../../../src/config.js';

describe('fleetConfigFromEnv', () => {
  it('defaults: a 30 s lease, the store\'s member id', () => {
    expect(fleetConfigFromEnv({}, {}, true)).toEqual({ leaseMillis: 30_000 });
  });

  it('a flag wins over its variable', () => {
    const env = { ASSISTANTS_OTEL_LEASE: '10s', ASSISTANTS_OTEL_MEMBER_ID: 'from-env' };
    expect(fleetConfigFromEnv(env, {}, true)).toEqual({ leaseMillis: 10_000, memberId: 'from-env' });
    expect(fleetConfigFromEnv(env, { lease: '2s', memberId: 'pod-7' }, true)).toEqual({ leaseMillis: 2_000, memberId: 'pod-7' });
  });

  it.each([
    [{ lease: '100ms' }, {}, '--lease: between 500ms and 1h'],
    [{ lease: '2h' }, {}, '--lease: between 500ms and 1h'],
    [{ lease: '30' }, {}, '--lease: needs a unit, e.g. "30s" or "30ms", got "30"'],
    [{}, { ASSISTANTS_OTEL_LEASE: 'soon' }, 'ASSISTANTS_OTEL_LEASE: expected a duration such as 500ms'],
    [{ memberId: 'has space' }, {}, '--member-id: 1–200 characters, letters, digits and _ . : @ - (starting with a letter or digit), unique among running members, got "has space"'],
    [{ memberId: '-x' }, {}, '--member-id: 1–200 characters'],
    [{}, { ASSISTANTS_OTEL_MEMBER_ID: 'a'.repeat(201) }, 'ASSISTANTS_OTEL_MEMBER_ID: 1–200 characters'],
  ])('refuses %j %j', (flags, env, message) => {
    expect(() => fleetConfigFromEnv(env, flags, true)).toThrow(message);
  });

  it('the flags need a PostgreSQL state; the variables are ignored without one (a shared template)', () => {
    expect(() => fleetConfigFromEnv({}, { lease: '5s' }, false)).toThrow('--lease: only for a fleet: needs --state postgres://… (or ASSISTANTS_OTEL_STATE_URL)');
    expect(() => fleetConfigFromEnv({}, { memberId: 'm' }, false)).toThrow('--member-id: only for a fleet');
    expect(fleetConfigFromEnv({ ASSISTANTS_OTEL_LEASE: '5s', ASSISTANTS_OTEL_MEMBER_ID: 'm' }, {}, false)).toEqual({ leaseMillis: 30_000 });
  });
});
