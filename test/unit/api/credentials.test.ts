/**
 * Credentials (issue: "Bearer tokens expire, so they can come from a command or a callback and are
 * refreshed (and re-fetched once after a 401)"), and keeping them secret: every credential names its
 * secrets, the logger scrubs them, and nothing here echoes what a token command printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ApiError } from '../../../src/api/errors.js';
import { afterAll, describe, expect, it } from 'vitest';
import { bearerToken, commandTokenSource, noCredentials, parseTokenOutput, staticKey, type Token } from '../../../src/api/credentials.js';
import { createLogger } from '../../../src/util/log.js';
import { redactUrl, scrubSecrets } from '../../../src/util/redact.js';

const KEY = 'sk-unit-0123456789abcdefSECRET';
const TOKEN_A = 'tokA-eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payloadA.sigA';
const TOKEN_B = 'tokB-eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payloadB.sigB';

/** A token source scripted with `answers`, counting its calls. */
function scriptedSource(...answers: (string | Token | Error)[]) {
  const calls: number[] = [];
  const source = async () => {
    calls.push(calls.length);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
    if (answer instanceof Error) throw answer;
    return answer as string | Token;
  };
  return { source, calls };
}

describe('staticKey', () => {
  it('sends an OpenAI key as Authorization: Bearer and names it as its secret', async () => {
    const credentials = staticKey(KEY, 'OPENAI_API_KEY');
    expect(await credentials.headers()).toEqual({ Authorization: `Bearer ${KEY}` });
    expect(credentials.secrets()).toEqual([KEY]);
    expect(credentials.hint).toBe('OPENAI_API_KEY');
  });

  it('sends an Azure key in the api-key header', async () => {
    expect(await staticKey(KEY, 'AZURE_OPENAI_API_KEY', 'api-key').headers()).toEqual({ 'api-key': KEY });
  });

  it('a 401 cannot be cured by fetching a static key again', () => {
    expect(staticKey(KEY, 'OPENAI_API_KEY').invalidate()).toBe(false);
  });

  it('the hint never holds the key', () => {
    expect(staticKey(KEY, 'OPENAI_API_KEY').hint).not.toContain(KEY);
  });
});

describe('noCredentials', () => {
  it('sends nothing, has no secrets, and its hint says which variable to set', async () => {
    expect(await noCredentials.headers()).toEqual({});
    expect(noCredentials.secrets()).toEqual([]);
    expect(noCredentials.invalidate()).toBe(false);
    expect(noCredentials.hint).toMatch(/OPENAI_API_KEY/);
  });
});

describe('bearerToken', () => {
  it('fetches once and reuses the token until shortly before it expires', async () => {
    let now = 1_000_000;
    const { source, calls } = scriptedSource({ token: TOKEN_A, expiresAtMillis: now + 120_000 }, { token: TOKEN_B, expiresAtMillis: now + 999_999 });
    const credentials = bearerToken(source, 'the token command', { refreshMarginMillis: 60_000, now: () => now });
    expect(await credentials.headers()).toEqual({ Authorization: `Bearer ${TOKEN_A}` });
    now += 59_999; // still more than the margin before the expiry
    expect(await credentials.headers()).toEqual({ Authorization: `Bearer ${TOKEN_A}` });
    expect(calls).toHaveLength(1);
    now += 1; // now within the margin: refresh before it expires
    expect(await credentials.headers()).toEqual({ Authorization: `Bearer ${TOKEN_B}` });
    expect(calls).toHaveLength(2);
  });

  it('a token without an expiry lives defaultTtlMillis (less the margin)', async () => {
    let now = 0;
    const { source, calls } = scriptedSource(TOKEN_A, TOKEN_B);
    const credentials = bearerToken(source, 'hint', { defaultTtlMillis: 10_000, refreshMarginMillis: 1_000, now: () => now });
    await credentials.headers();
    now = 8_999;
    expect(await credentials.headers()).toEqual({ Authorization: `Bearer ${TOKEN_A}` });
    now = 9_000;
    expect(await credentials.headers()).toEqual({ Authorization: `Bearer ${TOKEN_B}` });
    expect(calls).toHaveLength(2);
  });

  it('concurrent callers share one fetch', async () => {
    let resolve: (token: string) => void = () => {};
    let calls = 0;
    const credentials = bearerToken(
      () => {
        calls++;
        return new Promise<string>((r) => {
          resolve = r;
        });
      },
      'hint',
    );
    const all = Promise.all(Array.from({ length: 5 }, () => credentials.headers()));
    await Promise.resolve();
    resolve(TOKEN_A);
    expect(new Set((await all).map((h) => h['Authorization']))).toEqual(new Set([`Bearer ${TOKEN_A}`]));
    expect(calls).toBe(1);
  });

  it('after a 401 (invalidate) the next request fetches a fresh token', async () => {
    const { source, calls } = scriptedSource(TOKEN_A, TOKEN_B);
    const credentials = bearerToken(source, 'hint');
    await credentials.headers();
    expect(credentials.invalidate()).toBe(true);
    expect(await credentials.headers()).toEqual({ Authorization: `Bearer ${TOKEN_B}` });
    expect(calls).toHaveLength(2);
  });

  it('names every token it has handed out as a secret, old ones included', async () => {
    const { source } = scriptedSource(TOKEN_A, TOKEN_B);
    const credentials = bearerToken(source, 'hint');
    expect(credentials.secrets()).toEqual([]);
    await credentials.headers();
    credentials.invalidate();
    await credentials.headers();
    expect(credentials.secrets().sort()).toEqual([TOKEN_A, TOKEN_B].sort());
  });

  it('a failing source fails the request, and the next request tries the source again', async () => {
    const { source, calls } = scriptedSource(new Error('az: not logged in'), TOKEN_A);
    const credentials = bearerToken(source, 'hint');
    await expect(credentials.headers()).rejects.toThrow('az: not logged in');
    expect(await credentials.headers()).toEqual({ Authorization: `Bearer ${TOKEN_A}` });
    expect(calls).toHaveLength(2);
  });

  it('refuses an empty token', async () => {
    const credentials = bearerToken(async () => '', 'hint');
    await expect(credentials.headers()).rejects.toThrow(/empty token/);
  });
});

describe('parseTokenOutput', () => {
  const NOW = Date.UTC(2026, 0, 1);

  it.each([
    ['a bare token', `${TOKEN_A}\n`, { token: TOKEN_A }],
    ['az JSON with expires_on (epoch seconds)', JSON.stringify({ accessToken: TOKEN_A, expires_on: 1_767_229_200, tokenType: 'Bearer' }), { token: TOKEN_A, expiresAtMillis: 1_767_229_200_000 }],
    ['az JSON with expires_on as a string of digits', JSON.stringify({ accessToken: TOKEN_A, expires_on: '1767229200' }), { token: TOKEN_A, expiresAtMillis: 1_767_229_200_000 }],
    ['JSON with expiresOn as an ISO date', JSON.stringify({ accessToken: TOKEN_A, expiresOn: '2026-01-01T01:00:00Z' }), { token: TOKEN_A, expiresAtMillis: NOW + 3_600_000 }],
    ['OAuth JSON with access_token and expires_in', JSON.stringify({ access_token: TOKEN_A, expires_in: 3600 }), { token: TOKEN_A, expiresAtMillis: NOW + 3_600_000 }],
    ['JSON with a token and no expiry', JSON.stringify({ token: TOKEN_A }), { token: TOKEN_A }],
  ])('reads %s', (_name, output, expected) => {
    expect(parseTokenOutput(output, NOW)).toEqual(expected);
  });

  it.each([
    ['nothing', ''],
    ['two words', 'Please run az login'],
    ['JSON without a token', JSON.stringify({ tokenType: 'Bearer', expires_on: 1 })],
  ])('refuses %s', (_name, output) => {
    expect(() => parseTokenOutput(output, NOW)).toThrow();
  });

  // What a token command printed may be a token: errors describe the problem, never the output.
  it.each([
    ['words around a token', `token: ${TOKEN_A}`],
    ['JSON with the token unquoted', `{"accessToken":${TOKEN_A}}`],
    ['JSON with a trailing comma', `{"accessToken":"${TOKEN_A}",}`],
    ['JSON cut short', `{"accessToken":"${TOKEN_A}`],
  ])('an error for %s holds no part of the token', (_name, output) => {
    let message = '';
    try {
      parseTokenOutput(output, NOW);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toBe('');
    for (const fragment of ['tokA-', 'eyJ0eXAi', 'payloadA', 'sigA']) expect(message).not.toContain(fragment);
  });
});

describe('commandTokenSource', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'assistants-otel-token-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the command through the shell and reads the token from its output', async () => {
    const file = path.join(dir, 'token.json');
    writeFileSync(file, JSON.stringify({ accessToken: TOKEN_A, expires_on: 1_767_229_200 }));
    await expect(commandTokenSource(`cat '${file}'`)()).resolves.toEqual({ token: TOKEN_A, expiresAtMillis: 1_767_229_200_000 });
  });

  it('a failing command is reported by how it ended, without what it printed', async () => {
    const file = path.join(dir, 'leaky.txt');
    writeFileSync(file, TOKEN_B);
    const source = commandTokenSource(`cat '${file}'; cat '${file}' >&2; exit 3`);
    const error = await source().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/token command failed \(3\)/);
    expect(error?.message).not.toContain(TOKEN_B);
  });

  it.each([
    ['not found (127)', 'no-such-token-tool-xyz --json', 'exit 127: command not found'],
    ['not executable (126)', '/dev/null', 'exit 126: not executable'],
  ])('a command that cannot run at all, %s, is an auth error (fatal: no retry runs it)', async (_name, command, said) => {
    const error = await commandTokenSource(command)().then(
      () => undefined,
      (e: unknown) => e as ApiError,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error?.kind).toBe('auth');
    expect(error?.message).toBe(`the token command cannot run (${said}); check ASSISTANTS_OTEL_TOKEN_COMMAND or --token-command`);
  });

  it('a command that hangs is stopped after its timeout', async () => {
    const started = performance.now();
    await expect(commandTokenSource('sleep 5', 150)()).rejects.toThrow(/token command failed/);
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('feeds bearerToken: the command runs again once the token is invalidated', async () => {
    const counter = path.join(dir, 'count');
    writeFileSync(counter, '');
    const credentials = bearerToken(commandTokenSource(`echo x >> '${counter}'; echo tok-$(wc -l < '${counter}' | tr -d ' ')`), 'the token command');
    expect(await credentials.headers()).toEqual({ Authorization: 'Bearer tok-1' });
    expect(await credentials.headers()).toEqual({ Authorization: 'Bearer tok-1' });
    credentials.invalidate();
    expect(await credentials.headers()).toEqual({ Authorization: 'Bearer tok-2' });
  });
});

describe('secrets in log lines', () => {
  function capture() {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
        done();
      },
    });
    return { lines, stream };
  }

  it('the logger scrubs tokens learned after it was created, in text and JSON lines', async () => {
    const { source } = scriptedSource(TOKEN_A, TOKEN_B);
    const credentials = bearerToken(source, 'hint');
    for (const format of ['text', 'json'] as const) {
      const { lines, stream } = capture();
      const logger = createLogger({ stream, format, secrets: () => credentials.secrets() });
      await credentials.headers();
      credentials.invalidate();
      await credentials.headers();
      logger.warn(`saw ${TOKEN_A}`, { header: `Bearer ${TOKEN_B}`, nested: { value: TOKEN_A } });
      logger.child({ token: TOKEN_B }).error('child line');
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        expect(line).not.toContain(TOKEN_A);
        expect(line).not.toContain(TOKEN_B);
        expect(line).toContain('<redacted>');
      }
    }
  });

  it('scrubSecrets replaces every occurrence and ignores values too short to be secrets', () => {
    expect(scrubSecrets(`a ${KEY} b ${KEY}`, [KEY, undefined, 'ab'])).toBe('a <redacted> b <redacted>');
  });

  it('redactUrl drops user-info and credential-like query values but keeps api-version', () => {
    const shown = redactUrl(`https://user:${KEY}@x.openai.azure.com/openai/threads?api-version=2025-04-01-preview&api-key=${KEY}`);
    expect(shown).not.toContain(KEY);
    expect(shown).toContain('api-version=2025-04-01-preview');
  });
});
