/**
 * Connection URLs as they may be shown (user, host, database, settings kept; password and
 * secret-looking parameters redacted), and the secrets a logger must scrub, in every form they
 * could appear: raw, percent-decoded, as parameters; also for strings the URL parser refuses.
 */
import { describe, expect, it } from 'vitest';
import { connectionUrlSecrets, redactConnectionUrl } from '../../../src/util/redact.js';

describe('redactConnectionUrl', () => {
  it.each([
    ['postgres://bob:s%40cret@db.example:5432/otel?sslmode=require', 'postgres://bob:<redacted>@db.example:5432/otel?sslmode=require'],
    ['postgresql://bob@db/otel', 'postgresql://bob@db/otel'],
    ['postgres://db/otel?password=p2&application_name=x&sslpassword=p3', 'postgres://db/otel?password=<redacted>&application_name=x&sslpassword=<redacted>'],
    ['postgres:///otel?host=/run/postgresql', 'postgres:///otel?host=/run/postgresql'],
  ])('%s → %s', (url, shown) => {
    expect(redactConnectionUrl(url)).toBe(shown);
  });

  it('falls back to a regex for what the URL parser refuses, dropping the password and every parameter', () => {
    const shown = redactConnectionUrl('postgres://bob:pw%zz@[bad/otel?password=x');
    expect(shown).toBe('postgres://bob:<redacted>@[bad/otel?<redacted>');
    expect(redactConnectionUrl('not a url')).toBe('<unparseable URL>');
  });
});

describe('connectionUrlSecrets', () => {
  it('lists the password raw and decoded, and secret parameters', () => {
    expect(connectionUrlSecrets('postgres://bob:s%40cret@db/x?sslmode=require&password=p2-long').sort()).toEqual(['p2-long', 's%40cret', 's@cret'].sort());
    expect(connectionUrlSecrets('postgres://bob@db/x')).toEqual([]);
  });

  it('finds them in strings the URL parser refuses', () => {
    expect(connectionUrlSecrets('postgres://bob:pw%zz@[bad/otel?password=x%41y').sort()).toEqual(['pw%zz', 'x%41y', 'xAy'].sort());
  });
});
