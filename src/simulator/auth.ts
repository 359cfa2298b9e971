// Credentials, api-version and the beta header: checked the way each provider does, and never
// repeated in an answer, a log line or `sim.requests`.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError, errors } from './errors.js';

/** `bearer`: OpenAI (`Authorization: Bearer …`). `api-key`: Azure (`api-key: …`). `none`: no check (like a local server). */
export type AuthMode = 'none' | { kind: 'bearer'; token: string } | { kind: 'api-key'; key: string };

export const REDACTED = '<redacted>';
const SECRET_HEADERS = /^(authorization|proxy-authorization|api-key|x-api-key|cookie|set-cookie|ocp-apim-subscription-key)$|token|secret|key/i;
const SECRET_QUERY = /key|token|secret|sig|password/i;

/** Compares without leaking the length or a matching prefix through timing. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function checkAuth(mode: AuthMode, headers: IncomingHttpHeaders): ApiError | null {
  if (mode === 'none') return null;
  if (mode.kind === 'bearer') {
    const value = header(headers, 'authorization');
    const match = value === undefined ? null : /^Bearer\s+(.+)$/i.exec(value.trim());
    if (match === null || match[1] === undefined) return errors.missingKey();
    return sameSecret(match[1], mode.token) ? null : errors.invalidKey();
  }
  const key = header(headers, 'api-key');
  // (obs) Azure API Management's wording for a missing and a wrong key.
  if (key === undefined || key === '') {
    return new ApiError(401, 'invalid_request_error', 'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.', null, 'invalid_api_key');
  }
  return sameSecret(key, mode.key)
    ? null
    : new ApiError(
        401,
        'invalid_request_error',
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
        null,
        'invalid_api_key',
      );
}

export function checkApiVersion(required: readonly string[], query: URLSearchParams): ApiError | null {
  if (required.length === 0) return null;
  const given = query.get('api-version');
  if (given === null || given === '') return errors.missingApiVersion();
  return required.includes(given) ? null : errors.unsupportedApiVersion(given, required);
}

export function checkBetaHeader(headers: IncomingHttpHeaders): ApiError | null {
  const value = header(headers, 'openai-beta') ?? '';
  return value.split(',').some((part) => part.trim() === 'assistants=v2') ? null : errors.missingBeta();
}

/** A copy of the headers with every credential-bearing value replaced by `<redacted>`. */
export function redactHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.test(name) ? REDACTED : Array.isArray(value) ? [...value] : value;
  }
  return out;
}

/** The query as a plain object (repeated keys become arrays), with credential-like parameters redacted. */
export function redactQuery(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of new Set(query.keys())) {
    const values = SECRET_QUERY.test(name) ? [REDACTED] : query.getAll(name);
    out[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}
