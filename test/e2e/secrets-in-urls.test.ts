/**
 * Credentials in any URL are never repeated (README "Logs"): a state URL of a scheme the sidecar
 * cannot use (`--state mysql://user:password@…`; PostgreSQL URLs are covered by the PostgreSQL
 * state tests), an API base URL, a collector URL (HTTP or gRPC). Each is refused with a message naming the flag or variable,
 * without the password, for `watch` and `import`.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/records/', import.meta.url));
const PASSWORD = 'hunter22-e2e-Zq81';

describe('a password in a URL', () => {
  it.each([
    ['a state URL of a scheme the sidecar cannot use', ['watch', '--state', `mysql://fleet:${PASSWORD}@db.internal:3306/otel`, '--thread', 'thread_a'], {}, /--state: expected a file path or a postgres:\/\/ or postgresql:\/\/ URL, got "mysql:\/\/fleet:<redacted>@db\.internal:3306\/otel"/],
    ['an API base URL', ['watch', '--memory-state', '--thread', 'thread_a'], { OPENAI_BASE_URL: `https://user:${PASSWORD}@api.example.com/v1` }, /OPENAI_BASE_URL: must not contain a user name or password/],
    ['a collector URL', ['watch', '--memory-state', '--thread', 'thread_a'], { OTEL_EXPORTER_OTLP_ENDPOINT: `http://user:${PASSWORD}@collector:4318` }, /OTEL_EXPORTER_OTLP_ENDPOINT: must not contain a user name or password/],
    ['a gRPC collector address', ['import', `${FIXTURES}runs.json`], { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: `user:${PASSWORD}@collector:4317` }, /OTEL_EXPORTER_OTLP_ENDPOINT: must not contain a user name or password/],
    ['an import --base-url', ['import', '--base-url', `https://:${PASSWORD}@api.example.com/v1`, `${FIXTURES}runs.json`], {}, /--base-url: must not contain a user name or password/],
  ] as Array<[string, string[], Record<string, string>, RegExp]>)('%s is refused, naming its source, without the password (not even in this title)', async (_what, args, env, message) => {
    const result = await runCli(args, { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', ...env } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr + result.stdout).not.toContain(PASSWORD);
  });
});
