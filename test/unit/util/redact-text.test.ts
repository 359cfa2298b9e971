/**
 * Credentials in URLs (README "Logs"): whatever the scheme (a PostgreSQL state URL, the API base
 * URL, the collector URL), user-info and query values are redacted in any text, and every log
 * line goes through it, whether or not the logger knows any secret.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/util/log.js';
import { redactUrl, redactUrlsInText, scrubSecrets } from '../../../src/util/redact.js';

describe('redactUrlsInText', () => {
  it.each([
    ['state postgres://fleet:hunter22@db.internal:5432/otel failed', 'state postgres://fleet:<redacted>@db.internal:5432/otel failed'],
    ['token https://ghp_abcdef123456@github.com/x', 'token https://<redacted>@github.com/x'],
    ['"url":"http://u:p%40ss@collector:4318/v1/traces"', '"url":"http://u:<redacted>@collector:4318/v1/traces"'],
    ['GET https://x.openai.azure.com/openai/threads?api-version=2025-05-01&api-key=abc123 ok', 'GET https://x.openai.azure.com/openai/threads?api-version=2025-05-01&api-key=<redacted> ok'],
    ['redis://:only-a-password@cache:6379', 'redis://:<redacted>@cache:6379'],
    ['two: a://x:y@h1 and b://z:w@h2', 'two: a://x:<redacted>@h1 and b://z:<redacted>@h2'],
    ['db postgres://bob@db/otel?sslmode=require&password=p2', 'db postgres://<redacted>@db/otel?sslmode=require&password=<redacted>'],
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
