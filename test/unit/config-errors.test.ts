/**
 * Errors that teach (README "Configuration reference"): durations (compound accepted, negative and
 * unit-less refused), dates for `--since`/`--until`, URLs shown as given with credentials redacted,
 * and a base endpoint that already ends in `/v1/traces`.
 */
import { describe, expect, it } from 'vitest';
import { apiConfigFromEnv, ConfigError, MAX_TIMER_MILLIS, otlpOptionsFromEnv, parseDuration, parseTimestamp } from '../../src/config.js';
import { redactUrlText } from '../../src/util/redact.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected an error, got none');
}

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1.5m', 90_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['2m30s', 150_000],
    ['1d12h', 129_600_000],
    ['1m500ms', 60_500],
    [' 90s ', 90_000],
  ])('%s is %i ms', (text, millis) => {
    expect(parseDuration(text, '--poll-interval')).toBe(millis);
  });

  it('a negative duration is refused as negative, naming the flag', () => {
    expect(errorOf(() => parseDuration('-5s', '--poll-interval')).message).toBe('--poll-interval: must not be negative, got "-5s"');
    expect(errorOf(() => parseDuration('-1h30m', '--idle-ttl')).message).toMatch(/^--idle-ttl: must not be negative/);
  });

  it('zero is refused', () => {
    expect(errorOf(() => parseDuration('0s', '--drain-timeout')).message).toBe('--drain-timeout: must be longer than zero, got "0s"');
    expect(errorOf(() => parseDuration('0h0m', '--drain-timeout')).message).toMatch(/longer than zero/);
  });

  it('a bare number gets a hint about the unit', () => {
    expect(errorOf(() => parseDuration('5', '--poll-interval')).message).toBe('--poll-interval: needs a unit, e.g. "5s" or "5ms", got "5"');
  });

  it.each(['1h30', 'h', '5 s', '1h-30m', '5sec', '', '1e3ms'])('"%s" is not a duration', (text) => {
    expect(errorOf(() => parseDuration(text, '--poll-interval')).message).toMatch(/^--poll-interval: (expected a duration such as 500ms, 2s, 5m, 1h30m or 24h|needs a unit)/);
  });

  it('a timer longer than Node can wait is refused, not left to fire at once', () => {
    expect(parseDuration('24d', '--poll-interval', { maxMillis: MAX_TIMER_MILLIS })).toBe(24 * 86_400_000);
    expect(errorOf(() => parseDuration('25d', '--poll-interval', { maxMillis: MAX_TIMER_MILLIS })).message).toBe('--poll-interval: must be at most 24d, got "25d"');
  });
});

describe('dates (--since, --until)', () => {
  it.each([
    ['2026-05-01', Date.UTC(2026, 4, 1) / 1000],
    ['2026-05-01T10:30:00Z', Date.UTC(2026, 4, 1, 10, 30) / 1000],
    ['2026-05-01T10:30Z', Date.UTC(2026, 4, 1, 10, 30) / 1000],
    ['2026-05-01 10:30:15', Date.UTC(2026, 4, 1, 10, 30, 15) / 1000],
    ['2026-05-01T12:30:00+02:00', Date.UTC(2026, 4, 1, 10, 30) / 1000],
    ['2026-05-01T05:30:00-0500', Date.UTC(2026, 4, 1, 10, 30) / 1000],
    ['2026-05-01T10:30:00.250Z', Date.UTC(2026, 4, 1, 10, 30) / 1000 + 0.25],
    ['1714560000', 1_714_560_000],
    ['0', 0],
  ])('%s', (text, seconds) => {
    expect(parseTimestamp(text, '--since')).toBeCloseTo(seconds, 6);
  });

  it('without an offset, a time is UTC (not the machine\'s zone)', () => {
    expect(parseTimestamp('2026-05-01T00:00:00', '--since')).toBe(parseTimestamp('2026-05-01T00:00:00Z', '--since'));
  });

  it('milliseconds given as seconds get a hint', () => {
    expect(errorOf(() => parseTimestamp('1714560000000', '--until')).message).toBe(
      '--until: "1714560000000" looks like milliseconds; give Unix seconds (1714560000) or an ISO 8601 date',
    );
  });

  it.each(['yesterday', '2026-13-01', '2026-02-30', '2026-05-01T25:00', '01/05/2026', '-5', '2026-05'])('"%s" is refused, naming the flag', (text) => {
    expect(errorOf(() => parseTimestamp(text, '--since')).message).toMatch(/^--since: /);
  });
});

describe('URLs shown as given, credentials redacted', () => {
  it('a URL without a scheme: shown, with the likely fix', () => {
    expect(errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' })).message).toBe(
      'OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL, got "localhost:4318"; did you mean "http://localhost:4318"?',
    );
    expect(errorOf(() => otlpOptionsFromEnv({}, { endpoint: '127.0.0.1:4318' })).message).toMatch(/^--otlp-endpoint: .*got "127\.0\.0\.1:4318"; did you mean "http:\/\/127\.0\.0\.1:4318"\?$/);
  });

  it('another scheme: shown', () => {
    expect(errorOf(() => apiConfigFromEnv({ OPENAI_BASE_URL: 'ftp://api.example.com/v1' })).message).toBe(
      'OPENAI_BASE_URL: expected an http:// or https:// URL, got "ftp://api.example.com/v1"',
    );
  });

  it('a user name and password: refused, the value shown without them', () => {
    const error = errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://admin:s3cr3t-pw@collector:4318' }));
    expect(error.message).toBe(
      'OTEL_EXPORTER_OTLP_ENDPOINT: must not contain a user name or password, got "http://<redacted>@collector:4318"; put credentials in the key or header variables',
    );
    expect(error.message).not.toMatch(/s3cr3t|admin/);
  });

  it('an unparseable URL with credentials and a key in its query: shown without them', () => {
    const error = errorOf(() => apiConfigFromEnv({ OPENAI_BASE_URL: 'https://us er:p/ss@host:99999/v1?api-key=SECRETKEY&api-version=2025-01-01' }));
    expect(error.message).toBe('OPENAI_BASE_URL: expected an http:// or https:// URL, got "https://<redacted>@host:99999/v1?api-key=<redacted>&api-version=2025-01-01"');
    expect(redactUrlText('htp//host?token=abc')).toBe('htp//host?token=<redacted>');
  });
});

describe('a base endpoint that already ends in /v1/traces', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT: the base to give instead, or the variable that takes the full URL', () => {
    expect(errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/v1/traces' })).message).toBe(
      'OTEL_EXPORTER_OTLP_ENDPOINT: is the collector\'s base URL, to which /v1/traces is appended, but "http://collector:4318/v1/traces" ' +
        'already ends in /v1/traces: give "http://collector:4318", or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to the full URL',
    );
  });

  it('--otlp-endpoint, with a path before it and a trailing slash', () => {
    expect(errorOf(() => otlpOptionsFromEnv({}, { endpoint: 'https://otlp.example.com/tenant/v1/traces/' })).message).toBe(
      '--otlp-endpoint: is the collector\'s base URL, to which /v1/traces is appended, but "https://otlp.example.com/tenant/v1/traces/" ' +
        'already ends in /v1/traces: give "https://otlp.example.com/tenant"',
    );
  });

  it('the full URL in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is right, and used as is', () => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }).url).toBe('http://collector:4318/v1/traces');
  });
});
