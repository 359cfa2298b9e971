/**
 * Exporter options from the standard `OTEL_EXPORTER_OTLP_*` variables and the `--otlp-*` flags
 * (OTLP exporter specification): protocol, endpoint, headers, timeout, compression, TLS and mTLS
 * files, and gRPC's `INSECURE`. A `..._TRACES_...` variable wins over the general one, a flag over
 * both. Every error names the variable; none repeats a header value.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { OtlpExporterOptions, OtlpProtocol, OtlpTlsOptions } from '../delivery/exporter.js';
import { MAX_TIMER_MILLIS } from '../util/backoff.js';
import { redactUrl } from '../util/redact.js';
import { ConfigError, firstSet, nonEmpty, parseBoolean, parseKeyValueList, parsePositiveNumber, parseUrl, type Env } from './parse.js';

export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';
export const DEFAULT_OTLP_GRPC_ENDPOINT = 'http://localhost:4317';

export interface OtlpFlags {
  /** `--otlp-endpoint`: a base URL (HTTP: `/v1/traces` is appended; gRPC: the address) */
  endpoint?: string | undefined;
  /** `--otlp-protocol` */
  protocol?: string | undefined;
}

/** Reads a file named by a variable; the seam lets tests count or fail reads. */
export type ReadConfigFile = (path: string) => Buffer;

/** Both forms of a variable, signal-specific first. */
function traces(suffix: string): [string, string] {
  return [`OTEL_EXPORTER_OTLP_TRACES_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`];
}

function parseProtocol(source: { name: string; value: string } | undefined): OtlpProtocol {
  if (source === undefined) return 'http/protobuf';
  if (source.value === 'http/protobuf' || source.value === 'http/json' || source.value === 'grpc') return source.value;
  throw new ConfigError(source.name, `expected "http/protobuf", "http/json" or "grpc", got "${source.value}"`);
}

function withTrailingSlash(url: URL): URL {
  return url.pathname.endsWith('/') ? url : new URL(`${url.href}/`);
}

/**
 * A collector base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`, `--otlp-endpoint`) → the traces URL. A base
 * that already ends in `/v1/traces` is the full URL given in the wrong place: say so rather than
 * send to `…/v1/traces/v1/traces`.
 */
function tracesUrlFromBase(value: string, source: string): string {
  const base = parseUrl(value, source);
  if (/\/v1\/traces\/?$/.test(base.pathname)) {
    const stripped = new URL(base.href);
    stripped.pathname = base.pathname.replace(/\/?v1\/traces\/?$/, '') || '/';
    const instead = redactUrl(stripped.href).replace(/\/$/, '');
    throw new ConfigError(
      source,
      `is the collector's base URL, to which /v1/traces is appended, but "${redactUrl(base.href)}" already ends in /v1/traces: ` +
        `give "${instead}"${source === '--otlp-endpoint' ? '' : ', or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to the full URL'}`,
    );
  }
  return new URL('v1/traces', withTrailingSlash(base)).href;
}

/** HTTP: the full traces URL. */
function httpUrl(env: Env, flags: OtlpFlags): string {
  const specific = nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  if (flags.endpoint !== undefined) return tracesUrlFromBase(flags.endpoint, '--otlp-endpoint');
  // The signal-specific endpoint is used as is (OTLP exporter spec).
  if (specific !== undefined) return parseUrl(specific, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT').href;
  const base = nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']) ?? DEFAULT_OTLP_ENDPOINT;
  return tracesUrlFromBase(base, 'OTEL_EXPORTER_OTLP_ENDPOINT');
}

/** gRPC: the collector's address as given (`http://h:p` plaintext, `https://h:p` or `h:p` TLS); no path is appended. */
function grpcUrl(env: Env, flags: OtlpFlags): string {
  const source = flags.endpoint !== undefined
    ? { name: '--otlp-endpoint', value: flags.endpoint }
    : firstSet(env, ...traces('ENDPOINT')) ?? { name: 'default', value: DEFAULT_OTLP_GRPC_ENDPOINT };
  const value = source.value.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme !== undefined) {
    const url = parseUrl(value, source.name); // http(s), no credentials
    return `${url.protocol}//${url.host}`;
  }
  let url: URL;
  try {
    url = new URL(`https://${value}`);
  } catch {
    throw new ConfigError(source.name, `expected a gRPC endpoint such as http://collector:4317, https://collector:4317 or collector:4317, got "${redactUrl(value)}"`);
  }
  if (url.username || url.password) throw new ConfigError(source.name, 'must not contain a user name or password; put credentials in OTEL_EXPORTER_OTLP_HEADERS');
  return url.host;
}

/** HTTP header names are tokens (RFC 9110); gRPC metadata keys are lower-case ASCII, `grpc-` reserved. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const GRPC_KEY = /^[0-9a-z_.-]+$/;
/** A line break in a header value would split the request (header injection); other control characters are refused too. */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

function parseHeaders(env: Env, protocol: OtlpProtocol): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    for (const [key, value] of Object.entries(parseKeyValueList(env[name] ?? '', name))) {
      if (!HTTP_TOKEN.test(key)) throw new ConfigError(name, `header name "${key}" is not a valid HTTP header name`);
      if (protocol === 'grpc' && (!GRPC_KEY.test(key.toLowerCase()) || key.toLowerCase().startsWith('grpc-'))) {
        throw new ConfigError(name, `header name "${key}" is not a valid gRPC metadata key (lower-case letters, digits, - _ . ; not grpc-…)`);
      }
      // Never the value itself: it is a secret.
      if (CONTROL.test(value)) throw new ConfigError(name, `the value of header "${key}" contains a line break or another control character`);
      headers[key] = value;
    }
  }
  return headers;
}

function readNamedFile(source: { name: string; value: string }, readFile: ReadConfigFile): Buffer {
  try {
    return readFile(source.value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new ConfigError(source.name, `cannot read ${source.value}: ${why}`);
  }
}

/** `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`, `…CLIENT_KEY`, `…CLIENT_CERTIFICATE`: read and checked now, not at the first export. */
function tlsFromEnv(env: Env, readFile: ReadConfigFile): OtlpTlsOptions | undefined {
  const caSource = firstSet(env, ...traces('CERTIFICATE'));
  const keySource = firstSet(env, ...traces('CLIENT_KEY'));
  const certSource = firstSet(env, ...traces('CLIENT_CERTIFICATE'));
  if (keySource && !certSource) throw new ConfigError('OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE', `required with ${keySource.name} (mTLS needs the client's certificate and its key)`);
  if (certSource && !keySource) throw new ConfigError('OTEL_EXPORTER_OTLP_CLIENT_KEY', `required with ${certSource.name} (mTLS needs the client's certificate and its key)`);
  if (!caSource && !keySource) return undefined;
  const tls: OtlpTlsOptions = {};
  if (caSource) {
    tls.ca = readNamedFile(caSource, readFile);
    try {
      // A file with no certificate in it would be silently ignored by TLS: check there is one.
      if (!tls.ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no "BEGIN CERTIFICATE" block');
      new X509Certificate(tls.ca);
      createSecureContext({ ca: tls.ca });
    } catch (error) {
      throw new ConfigError(caSource.name, `${caSource.value} is not a PEM CA certificate (${(error as Error).message})`);
    }
  }
  if (keySource && certSource) {
    tls.key = readNamedFile(keySource, readFile);
    tls.cert = readNamedFile(certSource, readFile);
    try {
      createSecureContext({ key: tls.key, cert: tls.cert });
    } catch (error) {
      throw new ConfigError(`${keySource.name}/${certSource.name}`, `the client key and certificate are not PEM, or do not belong together (${(error as Error).message})`);
    }
  }
  return tls;
}

/** Milliseconds, at most Node's timer limit (a socket timeout past it fires at once: every request would time out). */
function parseTimeout(value: string, source: string): number {
  const millis = parsePositiveNumber(value, source);
  if (millis > MAX_TIMER_MILLIS) throw new ConfigError(source, `at most ${MAX_TIMER_MILLIS} ms, got "${value}"`);
  return millis;
}

/**
 * Exporter options. Defaults: `http/protobuf` to `http://localhost:4318/v1/traces`; with
 * `grpc`, `http://localhost:4317`.
 */
export function otlpOptionsFromEnv(env: Env, flags: OtlpFlags = {}, readFile: ReadConfigFile = (path) => readFileSync(path)): OtlpExporterOptions {
  const protocolSource = flags.protocol !== undefined ? { name: '--otlp-protocol', value: flags.protocol } : firstSet(env, ...traces('PROTOCOL'));
  const protocol = parseProtocol(protocolSource);
  const url = protocol === 'grpc' ? grpcUrl(env, flags) : httpUrl(env, flags);
  const headers = parseHeaders(env, protocol);

  const timeout = firstSet(env, ...traces('TIMEOUT'));
  const compression = firstSet(env, ...traces('COMPRESSION'));
  if (compression && compression.value !== 'gzip' && compression.value !== 'none') {
    throw new ConfigError(compression.name, `expected "gzip" or "none", got "${compression.value}"`);
  }
  const insecure = firstSet(env, ...traces('INSECURE'));
  const tls = tlsFromEnv(env, readFile);
  return {
    url,
    protocol,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(timeout ? { timeoutMillis: parseTimeout(timeout.value, timeout.name) } : {}),
    ...(compression ? { compression: compression.value as 'gzip' | 'none' } : {}),
    ...(tls ? { tls } : {}),
    ...(insecure && protocol === 'grpc' ? { insecure: parseBoolean(insecure.value, insecure.name) } : {}),
  };
}
