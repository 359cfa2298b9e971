/**
 * Configuration (README "Configuration", "Content"): every variable and flag the README lists, its
 * default, the precedence (signal-specific `…_TRACES_…` over the general variable, a flag over both),
 * and errors that name the variable or flag and never repeat a header value.
 */
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  mappingOptionsFromEnv,
  otlpOptionsFromEnv,
  parseKeyValueList,
  resourceOptionsFromEnv,
  stateConfigFromEnv,
  type Env,
} from '../../src/config.js';
import { DEFAULT_OTLP_TIMEOUT_MILLIS } from '../../src/delivery/exporter.js';
import { createResource } from '../../src/delivery/resource.js';

/** The error `fn` throws (fails the test when it throws nothing). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, got none');
}

describe('OTLP endpoint', () => {
  it('defaults to http://localhost:4318/v1/traces over http/protobuf, with no headers, timeout or compression set', () => {
    expect(otlpOptionsFromEnv({})).toEqual({ url: 'http://localhost:4318/v1/traces', protocol: 'http/protobuf' });
    expect(DEFAULT_OTLP_TIMEOUT_MILLIS).toBe(10_000);
  });

  it.each([
    ['http://collector:4318', 'http://collector:4318/v1/traces'],
    ['http://collector:4318/', 'http://collector:4318/v1/traces'],
    ['https://otlp.example.com/tenant-a', 'https://otlp.example.com/tenant-a/v1/traces'],
    ['https://otlp.example.com/tenant-a/', 'https://otlp.example.com/tenant-a/v1/traces'],
  ])('OTEL_EXPORTER_OTLP_ENDPOINT=%s is a base URL: %s', (base, url) => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: base }).url).toBe(url);
  });

  it.each([
    'https://otlp.example.com/api/traces',
    'http://collector:4318/v1/traces',
    'https://otlp.example.com/custom/path?tenant=a',
  ])('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=%s is used as is', (url) => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url }).url).toBe(url);
  });

  it('the traces endpoint wins over the base endpoint', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/t' };
    expect(otlpOptionsFromEnv(env).url).toBe('http://traces:9999/t');
  });

  it('--otlp-endpoint wins over both variables and gets /v1/traces appended', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/t' };
    expect(otlpOptionsFromEnv(env, { endpoint: 'http://flag:4318' }).url).toBe('http://flag:4318/v1/traces');
  });

  it('an empty variable counts as unset', () => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ' ' }).url).toBe(
      'http://localhost:4318/v1/traces',
    );
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }, {}, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://collector/v1/traces' }, {}, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
    [{}, { endpoint: 'not a url' }, '--otlp-endpoint'],
  ])('a bad URL names its source (%j %j)', (env, flags, source) => {
    const error = errorOf(() => otlpOptionsFromEnv(env as Env, flags));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).source).toBe(source);
    expect(error.message).toContain(source);
  });
});

describe('OTLP protocol', () => {
  it.each(['http/protobuf', 'http/json'])('accepts %s', (protocol) => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol }).protocol).toBe(protocol);
  });

  it('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins over OTEL_EXPORTER_OTLP_PROTOCOL; --otlp-protocol over both', () => {
    const env = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' };
    expect(otlpOptionsFromEnv(env).protocol).toBe('http/json');
    expect(otlpOptionsFromEnv(env, { protocol: 'http/protobuf' }).protocol).toBe('http/protobuf');
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, {}],
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, {}],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, { protocol: 'grpc' }],
  ])('accepts grpc from each source (%j %j), with its own default endpoint', (env, flags) => {
    expect(otlpOptionsFromEnv(env as Env, flags)).toEqual({ url: 'http://localhost:4317', protocol: 'grpc' });
  });

  it('refuses an unknown protocol, naming the variable and the value', () => {
    const error = errorOf(() => otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' }));
    expect(error.message).toContain('OTEL_EXPORTER_OTLP_PROTOCOL');
    expect(error.message).toContain('http/xml');
    expect(error.message).toMatch(/"http\/protobuf", "http\/json" or "grpc"/);
  });
});

describe('OTLP headers', () => {
  it('parses key=value pairs, percent-decoded', () => {
    const options = otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%3D%3D,X-Scope-OrgID=tenant%20a' });
    expect(options.headers).toEqual({ 'api-key': 'abc==', 'X-Scope-OrgID': 'tenant a' });
  });

  it('keeps a value that itself contains `=`', () => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic dXNlcjpwYXNz==' }).headers).toEqual({
      Authorization: 'Basic dXNlcjpwYXNz==',
    });
  });

  it('merges OTEL_EXPORTER_OTLP_TRACES_HEADERS over OTEL_EXPORTER_OTLP_HEADERS', () => {
    const options = otlpOptionsFromEnv({
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=general,x-a=1',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=traces',
    });
    expect(options.headers).toEqual({ 'api-key': 'traces', 'x-a': '1' });
  });

  it('ignores empty entries and an empty variable', () => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'a=1,,' }).headers).toEqual({ a: '1' });
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_HEADERS: '' }).headers).toBeUndefined();
  });

  const SECRET = 'sk-proj-SuperSecretValue123';

  it.each([
    ['OTEL_EXPORTER_OTLP_HEADERS', `authorization=Bearer%ZZ${SECRET}`],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', `api-key=%E0%A4%A${SECRET}`],
    ['OTEL_EXPORTER_OTLP_HEADERS', `x-ok=1,${SECRET}`],
    ['OTEL_EXPORTER_OTLP_HEADERS', `=${SECRET}`],
  ])('an error in %s names the variable and never repeats the value', (name, value) => {
    const error = errorOf(() => otlpOptionsFromEnv({ [name]: value }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(name);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('SuperSecret');
  });
});

describe('OTLP timeout and compression', () => {
  it('reads the timeout in milliseconds; TRACES wins over the general variable', () => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).timeoutMillis).toBe(2500);
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700' }).timeoutMillis).toBe(700);
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_TIMEOUT', 'ten seconds'],
    ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '-5'],
  ])('a bad %s is an error naming the variable', (name, value) => {
    const error = errorOf(() => otlpOptionsFromEnv({ [name]: value }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(name);
  });

  it('reads gzip and none; TRACES wins over the general variable', () => {
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }).compression).toBe('gzip');
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none' }).compression).toBe('none');
  });

  it.each(['OTEL_EXPORTER_OTLP_COMPRESSION', 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'])('a bad %s is an error naming it', (name) => {
    const error = errorOf(() => otlpOptionsFromEnv({ [name]: 'brotli' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(name);
  });
});

describe('resource', () => {
  it('service.name defaults to assistants-otel, and the resource holds nothing else (nothing per-process)', () => {
    expect(createResource(resourceOptionsFromEnv({})).attributes).toEqual({ 'service.name': 'assistants-otel' });
  });

  it('OTEL_SERVICE_NAME sets service.name', () => {
    expect(createResource(resourceOptionsFromEnv({ OTEL_SERVICE_NAME: 'agent-sidecar' })).attributes).toEqual({
      'service.name': 'agent-sidecar',
    });
  });

  it('OTEL_RESOURCE_ATTRIBUTES adds attributes; OTEL_SERVICE_NAME wins over its service.name', () => {
    const env = {
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,service.name=from-attrs,team=ai%20platform',
      OTEL_SERVICE_NAME: 'from-var',
    };
    expect(createResource(resourceOptionsFromEnv(env)).attributes).toEqual({
      'deployment.environment.name': 'prod',
      'service.name': 'from-var',
      team: 'ai platform',
    });
  });

  it('service.name from OTEL_RESOURCE_ATTRIBUTES is used without OTEL_SERVICE_NAME', () => {
    expect(createResource(resourceOptionsFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' })).attributes).toEqual({
      'service.name': 'from-attrs',
    });
  });

  it('a bad OTEL_RESOURCE_ATTRIBUTES entry is an error naming the variable', () => {
    const error = errorOf(() => resourceOptionsFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'no-equals-sign' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('OTEL_RESOURCE_ATTRIBUTES');
  });

  it('the same options give the same resource, in a stable order', () => {
    const a = createResource(resourceOptionsFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'b=2,a=1' }));
    const b = createResource(resourceOptionsFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'a=1,b=2' }));
    expect(Object.keys(a.attributes)).toEqual(Object.keys(b.attributes));
  });
});

describe('mapping options', () => {
  it('defaults: no content, bound 8192, no attribute length limit', () => {
    expect(mappingOptionsFromEnv({})).toEqual({ captureContent: false, contentMaxLength: 8192 });
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['false', false],
    ['', false],
  ])('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=%j → %s', (value, capture) => {
    expect(mappingOptionsFromEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: value }).captureContent).toBe(capture);
  });

  it('--capture-content turns content on over the variable', () => {
    expect(mappingOptionsFromEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'false' }, { captureContent: true }).captureContent).toBe(true);
  });

  it('a value that is not a boolean is an error naming the variable', () => {
    const error = errorOf(() => mappingOptionsFromEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'yes please' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT');
  });

  it('ASSISTANTS_OTEL_CONTENT_MAX_LENGTH sets the bound; --content-max-length wins over it', () => {
    expect(mappingOptionsFromEnv({ ASSISTANTS_OTEL_CONTENT_MAX_LENGTH: '1000' }).contentMaxLength).toBe(1000);
    expect(mappingOptionsFromEnv({ ASSISTANTS_OTEL_CONTENT_MAX_LENGTH: '1000' }, { contentMaxLength: '64' }).contentMaxLength).toBe(64);
  });

  it.each([
    [{ ASSISTANTS_OTEL_CONTENT_MAX_LENGTH: 'lots' }, {}, 'ASSISTANTS_OTEL_CONTENT_MAX_LENGTH'],
    [{ ASSISTANTS_OTEL_CONTENT_MAX_LENGTH: '0' }, {}, 'ASSISTANTS_OTEL_CONTENT_MAX_LENGTH'],
    [{}, { contentMaxLength: '12.5' }, '--content-max-length'],
  ])('a bad content bound names its source (%j %j)', (env, flags, source) => {
    const error = errorOf(() => mappingOptionsFromEnv(env as Env, flags));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(source);
  });

  it('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT sets the attribute length limit; OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT wins over it', () => {
    expect(mappingOptionsFromEnv({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '256' }).attributeValueLengthLimit).toBe(256);
    expect(
      mappingOptionsFromEnv({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '256', OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '128' }).attributeValueLengthLimit,
    ).toBe(128);
  });

  it.each(['OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT'])('a bad %s is an error naming it', (name) => {
    const error = errorOf(() => mappingOptionsFromEnv({ [name]: 'unlimited' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(name);
  });

  it('--provider-name sets providerName', () => {
    expect(mappingOptionsFromEnv({}, { providerName: 'azure.ai.openai' }).providerName).toBe('azure.ai.openai');
  });
});

describe('parseKeyValueList', () => {
  it('trims keys and values and decodes both', () => {
    expect(parseKeyValueList(' a%2Fb = c%2Cd , e=f', 'X')).toEqual({ 'a/b': 'c,d', e: 'f' });
  });
});

describe('stateConfigFromEnv', () => {
  const PASSWORD = 's3cret-pg-pass';
  const url = `postgres://bob:${PASSWORD}@db.example:5432/otel?sslmode=require`;

  it('defaults to the state file; --state PATH is a file; --memory-state wins', () => {
    expect(stateConfigFromEnv({}, {}, '/d/state.json')).toEqual({ kind: 'file', path: '/d/state.json' });
    expect(stateConfigFromEnv({}, { state: '/x/s.json' }, '/d/state.json')).toEqual({ kind: 'file', path: '/x/s.json' });
    expect(stateConfigFromEnv({ ASSISTANTS_OTEL_STATE_URL: url }, { state: '/x', memoryState: true }, '/d')).toEqual({ kind: 'memory' });
  });

  it('--state postgres://… or postgresql://… selects PostgreSQL, over ASSISTANTS_OTEL_STATE_URL', () => {
    expect(stateConfigFromEnv({ ASSISTANTS_OTEL_STATE_URL: 'postgres://other/db' }, { state: url }, '/d')).toEqual({ kind: 'postgres', url, source: '--state' });
    expect(stateConfigFromEnv({}, { state: 'postgresql://h/db' }, '/d')).toEqual({ kind: 'postgres', url: 'postgresql://h/db', source: '--state' });
  });

  it('ASSISTANTS_OTEL_STATE_URL selects PostgreSQL over the default file', () => {
    expect(stateConfigFromEnv({ ASSISTANTS_OTEL_STATE_URL: ` ${url} ` }, {}, '/d')).toEqual({ kind: 'postgres', url, source: 'ASSISTANTS_OTEL_STATE_URL' });
  });

  it('ASSISTANTS_OTEL_STATE_URL that is not a PostgreSQL URL is an error naming it, without the password', () => {
    const error = errorOf(() => stateConfigFromEnv({ ASSISTANTS_OTEL_STATE_URL: `mysql://bob:${PASSWORD}@db/x` }, {}, '/d'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('ASSISTANTS_OTEL_STATE_URL: expected a postgres:// or postgresql:// URL, got "mysql://bob:<redacted>@db/x"; for a state file, use --state PATH');
  });

  it('a URL with a space is an error naming the flag, without the password', () => {
    const error = errorOf(() => stateConfigFromEnv({}, { state: `postgres://bob:${PASSWORD}@db/my db` }, '/d'));
    expect(error.message).toMatch(/^--state: a PostgreSQL URL holds no spaces/);
    expect(error.message).not.toContain(PASSWORD);
  });
});
