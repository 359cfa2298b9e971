/**
 * What can go wrong talking to the API, as values a caller can switch on. Messages say what to do
 * and never include a credential: for authentication failures the API's own message is left out,
 * since it may echo part of the key.
 */
import type { Issue } from './validate.js';

export type ApiErrorKind =
  /** 401/403: fatal; the message says what to check. */
  | 'auth'
  /** 404 or 410: the thread, run or step is gone (or never existed). */
  | 'not_found'
  /** Another 4xx: the request itself is wrong (a bad parameter, a missing beta header). */
  | 'invalid_request'
  /** The answer is not what the protocol promises: not JSON, no list envelope, a record that cannot be placed. */
  | 'invalid_payload'
  /** Retryable failures (429, 5xx, timeouts, dropped connections) outlasted the retry policy. */
  | 'retries_exhausted'
  /** The caller gave up (shutdown). */
  | 'aborted';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly details: {
      status?: number;
      /** The API's error code (`invalid_api_key`, `rate_limit_exceeded`). */
      code?: string;
      requestId?: string;
      issues?: Issue[];
      attempts?: number;
      /** For `invalid_payload` of one record: the record as it came (depth-bounded), to show it anyway. */
      body?: unknown;
    } = {},
  ) {
    super(message);
  }
}

export function isApiError(error: unknown, kind?: ApiErrorKind): error is ApiError {
  return error instanceof ApiError && (kind === undefined || error.kind === kind);
}
