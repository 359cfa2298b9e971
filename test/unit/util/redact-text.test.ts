/**
 * Credentials in URLs (README "Logs"): whatever the scheme (a PostgreSQL state URL, the API base
 * URL, the collector URL), user-info and query values are redacted in any text, and every log
 * line goes through it, whether or not the logger knows any secret.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/util/log.js';
import { connectionUrlSecrets, redactConnectionUrl, redactUrl, redactUrlsInText, scrubSecrets } from '../../../src/util/redact.js';

describe('redactUrlsInText', () => {
  it.each([
    ['state postgres://fleet:hunter22@db.internal:5432/otel failed', 'state postgres://fleet:<redacted>@db.internal:5432/otel failed'],
    ['token https://ghp_abcdef123456@github.com/x', 'token https://<redacted>@github.com/x'],
    ['"url":"http://u:p%40ss@collector:4318/v1/traces"', '"url":"http://u:<redacted>@collector:4318/v1/traces"'],
    ['GET https://x.openai.azure.com/openai/threads?api-version=2025-05-01&api-key=abc123 ok', 'GET https://x.openai.azure.com/openai/threads?api-version=2025-05-01&api-key=<redacted> ok'],
    ['redis://:only-a-password@cache:6379', 'redis://:<redacted>@cache:6379'],
    ['two: a://x:y@h1 and b://z:w@h2', 'two: a://x:<redacted>@h1 and b://z:<redacted>@h2'],
    // A database URL's bare user-info is the user name (libpq's), not a secret: kept.
    ['db postgres://bob@db/otel?sslmode=require&password=p2', 'db postgres://bob@db/otel?sslmode=require&password=<redacted>'],
    ['db postgresql://otel@127.0.0.1:55432/fleet?password=QWERTYPW', 'db postgresql://otel@127.0.0.1:55432/fleet?password=<redacted>'],
    // Already redacted once (redactConnectionUrl, then the logger): one marker, not two.
    ['postgres://otel@127.0.0.1:55432/fleet?password=<redacted>', 'postgres://otel@127.0.0.1:55432/fleet?password=<redacted>'],
    ['postgres://otel:<redacted>@h/db?sslmode=require&sslpassword=<redacted>&x=1', 'postgres://otel:<redacted>@h/db?sslmode=require&sslpassword=<redacted>&x=1'],
    ['https://x.example/v1?api-key=<redacted>&code=c1', 'https://x.example/v1?api-key=<redacted>&code=<redacted>'],
    // Already redacted by the PostgreSQL store's own message: left as it is.
    ['PostgreSQL state store postgres://otel:<redacted>@127.0.0.1:5432/otel', 'PostgreSQL state store postgres://otel:<redacted>@127.0.0.1:5432/otel'],
  ])('%s', (text, shown) => {
    expect(redactUrlsInText(text)).toBe(shown);
  });

  it('leaves text without credentials alone', () => {
    for (const text of ['http://127.0.0.1:9464/metrics', 'user@example.com wrote', 'no urls here', 'http://collector:4318/v1/traces']) {
      expect(redactUrlsInText(text)).toBe(text);
    }
  });

  it('redactUrl: a URL that does not parse is still shown without its credentials', () => {
    expect(redactUrl('postgres://fleet:hunter22@db internal/otel')).toBe('postgres://fleet:<redacted>@db internal/otel');
    // Not a URL, and nothing in it to hide: shown as given, so the user sees what was wrong.
    expect(redactUrl('not a url')).toBe('not a url');
  });

  it('a PostgreSQL URL through redactConnectionUrl and then the logger keeps its user and shows one marker per secret', () => {
    for (const [url, shown] of [
      ['postgres://otel@127.0.0.1:55432/fleet?password=QWERTYPW', 'postgres://otel@127.0.0.1:55432/fleet?password=<redacted>'],
      ['postgres://otel:QWERTYPW@127.0.0.1:55432/fleet', 'postgres://otel:<redacted>@127.0.0.1:55432/fleet'],
      ['postgresql://otel:pw1@h/db?sslmode=require&sslpassword=pw2', 'postgresql://otel:<redacted>@h/db?sslmode=require&sslpassword=<redacted>'],
      ['postgres://h/db?user=otel&password=pw3', 'postgres://h/db?user=otel&password=<redacted>'],
    ] as const) {
      const once = redactConnectionUrl(url);
      expect(once).toBe(shown);
      expect(scrubSecrets(`state=${once}`, connectionUrlSecrets(url))).toBe(`state=${shown}`);
      expect(scrubSecrets(`state=${url}`, connectionUrlSecrets(url))).toBe(`state=${shown}`);
    }
  });

  it('scrubSecrets also redacts URLs', () => {
    expect(scrubSecrets('db postgres://a:b@h/x key sk-1234', ['sk-1234'])).toBe('db postgres://a:<redacted>@h/x key <redacted>');
  });
});

describe('every log line', () => {
  it('is redacted even by a logger told no secret, in text and JSON', () => {
    for (const format of ['text', 'json'] as const) {
      let written = '';
      const stream = new Writable({
        write(chunk: Buffer, _encoding, done) {
          written += chunk.toString();
          done();
        },
      });
      const logger = createLogger({ stream, format });
      logger.error('cannot connect to postgres://fleet:hunter22@db/otel', { url: 'https://user:pw123@api.example.com/v1' });
      expect(written).not.toContain('hunter22');
      expect(written).not.toContain('pw123');
      expect(written).toContain('postgres://fleet:<redacted>@db/otel');
    }
  });
});
