/**
 * The Assistants API client for runs and run steps: exact about the protocol, polite with rate limits,
 * safe with secrets.
 *
 * - Every request waits for the shared `RequestBudget` (concurrency and requests per second).
 * - 408, 409, 429, 5xx, timeouts and connection errors are retried with jittered exponential backoff
 *   that never fires before `Retry-After` (or OpenAI's `retry-after-ms`), and never waits longer than
 *   the policy's cap: a longer `Retry-After` waits the cap (`longRetryAfter: 'wait-cap'`, the sidecar)
 *   or ends the request with a message saying so (`'give-up'`, the default, for one-shot commands).
 * - A 401 with a refreshable token fetches a new token and tries once more.
 * - Every record is validated through the model: a malformed item in a page is reported with its
 *   path, and the rest of the page is still returned.
 */
import { AbortedError, backoffDelay, delayCapOf, exceedsDelayCap, formatDuration, parseRetryAfter, sleep, type BackoffPolicy } from '../util/backoff.js';
import { silentLogger, type Logger } from '../util/log.js';
import { redactUrl } from '../util/redact.js';
import { PACKAGE_NAME, VERSION } from '../version.js';
import { RequestBudget } from './budget.js';
import { boundDepth } from './depth.js';
import { createNodeFetch } from './http-fetch.js';
import { ApiError, isApiError } from './errors.js';
import type { ProviderProfile } from './providers.js';
import type { Run, RunStep } from './schemas.js';
import { validateListEnvelope, validateRun, validateRunStep, type Issue, type Validated } from './validate.js';

export interface ApiRetryPolicy extends BackoffPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
}

export const DEFAULT_API_RETRY: ApiRetryPolicy = {
  maxAttempts: 6,
  initialDelayMillis: 500,
  maxDelayMillis: 30_000,
  multiplier: 2,
  jitterRatio: 0.2,
  longRetryAfter: 'give-up',
};

export const FILE_SEARCH_CONTENT_INCLUDE = 'step_details.tool_calls[*].file_search.results[*].content';

export interface AssistantsClientOptions {
  provider: ProviderProfile;
  /** Share one budget between every client of the process. @default a new budget with its defaults */
  budget?: RequestBudget;
  /** Per-request timeout. @default 30000 */
  timeoutMillis?: number;
  retry?: ApiRetryPolicy;
  logger?: Logger;
  /** How requests go out. @default `createNodeFetch()` (node:http, keep-alive; lighter than the built-in fetch) */
  fetch?: typeof fetch;
  random?: () => number;
  /** Called once per HTTP answer (or transport failure), for metrics. */
  onResponse?: (event: ResponseEvent) => void;
}

export interface ResponseEvent {
  operation: string;
  /** HTTP status, or 0 for a transport failure. */
  status: number;
  outcome: 'ok' | 'retry' | 'error';
}

export interface ListQuery {
  order?: 'asc' | 'desc';
  /** Page size, 1..100. */
  limit?: number;
  after?: string;
  before?: string;
}

export interface StepQuery extends ListQuery {
  /** Ask for file search result content (`include[]`). */
  includeFileSearchContent?: boolean;
}

/** An item of a page that could not be placed, and why. */
export interface ItemRejection {
  index: number;
  id?: string;
  issues: Issue[];
}

/** An item kept with a dropped field or a generic tool call, and why. */
export interface ItemWarning {
  index: number;
  id: string;
  issues: Issue[];
}

export interface Page<T> {
  items: T[];
  rejected: ItemRejection[];
  warnings: ItemWarning[];
  /**
   * Every item of the page as the server sent it (values nested past the depth bound cut), placed
   * or not, in page order: what `index` in `rejected` and `warnings` counts. For showing records.
   */
  records?: unknown[];
  hasMore: boolean;
  /** The id of the last raw item, to pass as `after` for the next page. */
  lastId: string | undefined;
  /** The server's clock when it answered (its `Date` header, Unix seconds), when it sent one. */
  serverTimeSeconds?: number;
}

export interface Fetched<T> {
  value: T;
  warnings: Issue[];
  /** The record as the server sent it (values nested past the depth bound cut). */
  raw?: unknown;
  /** The server's clock when it answered (its `Date` header, Unix seconds), when it sent one. */
  serverTimeSeconds?: number;
}

/** A parsed JSON body and the server's clock, from its `Date` header. */
interface Answer {
  body: unknown;
  serverTimeSeconds: number | undefined;
}

type RequestQuery = Record<string, string | number | undefined>;

function itemId(raw: unknown): string | undefined {
  return typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string'
    ? (raw as { id: string }).id
    : undefined;
}

/** OpenAI's finer `retry-after-ms` when present, else the standard `Retry-After`. */
function retryAfterMillis(headers: Headers): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Number(ms);
  return parseRetryAfter(headers.get('retry-after') ?? undefined);
}

async function apiErrorBody(response: Response): Promise<{ code?: string; message?: string }> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body.error?.code === 'string' ? body.error.code : undefined;
    const message = typeof body.error?.message === 'string' ? body.error.message : undefined;
    return { ...(code ? { code } : {}), ...(message ? { message } : {}) };
  } catch {
    return {};
  }
}

/** An HTTP date (`Date: Sun, 06 Nov 1994 08:49:37 GMT`) as Unix seconds; undefined when absent or unreadable. */
export function parseHttpDate(value: string | null): number | undefined {
  if (!value) return undefined;
  const millis = Date.parse(value);
  return Number.isFinite(millis) && millis > 0 ? Math.floor(millis / 1000) : undefined;
}

/** The reason an attempt's own timer gives when it aborts the request: read as "timed out". */
class RequestTimeout extends Error {
  override readonly name = 'TimeoutError';
}

function transportReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? 'connection failed';
}

export function createAssistantsClient(options: AssistantsClientOptions) {
  const { provider } = options;
  const budget = options.budget ?? new RequestBudget();
  const timeoutMillis = options.timeoutMillis ?? 30_000;
  const policy = options.retry ?? DEFAULT_API_RETRY;
  const logger = options.logger ?? silentLogger;
  const doFetch = options.fetch ?? createNodeFetch();
  const userAgent = `${PACKAGE_NAME}/${VERSION}`;

  // The provider's own query (api-version) first, as URLSearchParams would order them; written by
  // hand: this runs for every request, and a URLSearchParams plus a spread object per request added up.
  const providerQuery = Object.entries(provider.query ?? {}).filter(([key]) => key !== undefined);
  function url(path: string, query: RequestQuery): string {
    let search = '';
    const add = (key: string, value: string | number | undefined) => {
      if (value === undefined) return;
      search += `${search === '' ? '?' : '&'}${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`;
    };
    for (const [key, value] of providerQuery) if (!(key in query)) add(key, value);
    for (const key in query) add(key, query[key]);
    return `${provider.baseUrl}${path}${search}`;
  }

  /** What one attempt came to. Fatal answers are thrown as `ApiError`; everything else is a value. */
  type Attempt =
    | { kind: 'ok'; answer: Answer }
    | { kind: 'retry'; reason: string; retryAfter?: number }
    /** A 401 while holding a refreshable token: fetch a new one and try again, once. */
    | { kind: 'refresh' };

  /** One GET, from waiting for the budget to reading the body. */
  async function attemptOnce(operation: string, path: string, query: RequestQuery, mayRefresh: boolean, signal?: AbortSignal): Promise<Attempt> {
    const aborted = () => new ApiError('aborted', `${operation}: aborted`);
    const acquire = () =>
      budget.acquire(signal).catch((error: unknown) => {
        throw error instanceof AbortedError ? aborted() : error;
      });
    let release = await acquire();
    let headers: Record<string, string>;
    try {
      headers = { Accept: 'application/json', 'User-Agent': userAgent, ...provider.headers, ...(await provider.credentials.headers(signal)) };
      // Granted just before another request's Retry-After came back (or while the credentials were
      // being fetched), this one has not gone out yet: it waits too, as every later request does.
      // Checked last thing before it goes out, so no await lies between the check and the send.
      while (budget.isHeldOff()) {
        release();
        release = () => {};
        release = await acquire();
      }
    } catch (error) {
      release();
      if (signal?.aborted) throw aborted();
      // Credentials that cannot be had at all (a token command that cannot run): no retry helps.
      if (isApiError(error, 'auth')) throw error;
      options.onResponse?.({ operation, status: 0, outcome: 'retry' });
      return { kind: 'retry', reason: transportReason(error) };
    }
    // One controller per attempt, aborted by its own timer or by the caller's signal, both undone
    // when the attempt ends: no timer or listener outlives the request (`AbortSignal.timeout` keeps
    // its timer, and `AbortSignal.any` its bookkeeping, alive long after; with thousands of requests
    // a minute that is memory the sidecar does not need).
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new RequestTimeout(`${operation}: timed out after ${timeoutMillis} ms`)), timeoutMillis);
    try {
      let response: Response;
      try {
        response = await doFetch(url(path, query), { method: 'GET', headers, signal: controller.signal });
      } catch (error) {
        if (signal?.aborted) throw aborted();
        options.onResponse?.({ operation, status: 0, outcome: 'retry' });
        return { kind: 'retry', reason: transportReason(controller.signal.reason instanceof RequestTimeout ? controller.signal.reason : error) };
      }
      const status = response.status;
      const requestId = response.headers.get('x-request-id') ?? response.headers.get('apim-request-id') ?? undefined;
      const ids = requestId ? { requestId } : {};
      const report = (outcome: ResponseEvent['outcome']) => options.onResponse?.({ operation, status, outcome });

      if (status >= 200 && status < 300) {
        let text: string;
        try {
          text = await response.text();
        } catch (error) {
          // The body stalled (timeout) or the connection dropped mid-body: a transport failure.
          if (signal?.aborted) throw aborted();
          report('retry');
          return { kind: 'retry', reason: `${transportReason(controller.signal.reason instanceof RequestTimeout ? controller.signal.reason : error)} while reading the response` };
        }
        try {
          const body: unknown = JSON.parse(text);
          report('ok');
          return { kind: 'ok', answer: { body, serverTimeSeconds: parseHttpDate(response.headers.get('date')) } };
        } catch {
          report('error');
          throw new ApiError('invalid_payload', `${operation}: the response is not valid JSON`, { status, ...ids });
        }
      }

      // The server's wait applies to every request of this process, not only to this one: held from
      // the moment the status is known, before the body is read (other requests must not go out
      // meanwhile); but no wait is longer than the cap (a Retry-After of weeks must not stall the
      // process for weeks).
      const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
      const retryAfter = retryable ? retryAfterMillis(response.headers) : undefined;
      if (retryAfter !== undefined) budget.holdOff(Math.min(retryAfter, delayCapOf(policy)));
      const { code, message } = await apiErrorBody(response);
      const codeText = `HTTP ${status}${code ? ` ${code}` : ''}`;
      if (status === 401 && mayRefresh && provider.credentials.invalidate()) {
        report('retry');
        return { kind: 'refresh' };
      }
      if (status === 401 || status === 403) {
        report('error');
        const what = status === 401 ? 'refused the credentials' : 'denied access';
        throw new ApiError('auth', `${operation}: the API ${what} (${codeText}). Check: ${provider.credentials.hint}; base URL ${redactUrl(provider.baseUrl)}.`, {
          status,
          ...(code ? { code } : {}),
          ...ids,
        });
      }
      if (retryable) {
        report('retry');
        return { kind: 'retry', reason: codeText, ...(retryAfter !== undefined ? { retryAfter } : {}) };
      }
      report('error');
      throw new ApiError(status === 404 || status === 410 ? 'not_found' : 'invalid_request', `${operation}: ${codeText}${message ? `: ${message}` : ''}`, {
        status,
        ...(code ? { code } : {}),
        ...ids,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      release();
    }
  }

  /** GET `path` and return the parsed JSON body (and the server's clock), retrying what is worth retrying. */
  async function getJson(operation: string, path: string, query: RequestQuery, signal?: AbortSignal): Promise<Answer> {
    let mayRefresh = true;
    let lastReason = '';
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      if (signal?.aborted) throw new ApiError('aborted', `${operation}: aborted`);
      const outcome = await attemptOnce(operation, path, query, mayRefresh, signal);
      if (outcome.kind === 'ok') return outcome.answer;
      if (outcome.kind === 'refresh') {
        // Tokens expire: a fresh one gets one more try, not counted as an attempt.
        mayRefresh = false;
        attempt--;
        continue;
      }
      lastReason = outcome.reason;
      if (exceedsDelayCap(policy, outcome.retryAfter) && (policy.longRetryAfter ?? 'give-up') === 'give-up') {
        throw new ApiError(
          'retries_exhausted',
          `${operation}: the API asked to wait ${formatDuration(outcome.retryAfter as number)} (Retry-After, after ${outcome.reason}), ` +
            `longer than the longest wait allowed (${formatDuration(delayCapOf(policy))}, --max-retry-delay); giving up`,
          { attempts: attempt },
        );
      }
      if (attempt < policy.maxAttempts) await pause(operation, attempt, lastReason, outcome.retryAfter, signal);
    }
    throw new ApiError('retries_exhausted', `${operation}: gave up after ${policy.maxAttempts} attempts (last: ${lastReason})`, {
      attempts: policy.maxAttempts,
    });
  }

  async function pause(operation: string, attempt: number, reason: string, retryAfter: number | undefined, signal?: AbortSignal) {
    const delay = backoffDelay(policy, attempt, retryAfter, options.random);
    const capped = exceedsDelayCap(policy, retryAfter);
    logger.warn(capped ? 'API request will be retried after the longest wait allowed, sooner than its Retry-After' : 'API request will be retried', {
      operation,
      reason,
      attempt,
      delay_ms: delay,
      ...(retryAfter !== undefined ? { retry_after_ms: retryAfter } : {}),
    });
    try {
      await sleep(delay, signal);
    } catch {
      throw new ApiError('aborted', `${operation}: aborted`);
    }
  }

  function validatedPage<T>(operation: string, { body, serverTimeSeconds }: Answer, validate: (raw: unknown) => Validated<T>): Page<T> {
    const envelope = validateListEnvelope(body);
    if (!envelope.ok) {
      throw new ApiError('invalid_payload', `${operation}: the response is not a list envelope (${envelope.issues.map((i) => `${i.path || '$'}: ${i.message}`).join('; ')})`, {
        issues: envelope.issues,
      });
    }
    const page: Page<T> = {
      items: [],
      rejected: [],
      warnings: [],
      records: [],
      hasMore: envelope.value.has_more === true,
      lastId: undefined,
      ...(serverTimeSeconds !== undefined ? { serverTimeSeconds } : {}),
    };
    envelope.value.data.forEach((raw, index) => {
      page.records?.push(boundDepth(raw).value);
      const id = itemId(raw);
      if (id) page.lastId = id;
      const result = validate(raw);
      if (result.ok) {
        page.items.push(result.value);
        if (result.warnings.length > 0) page.warnings.push({ index, id: itemId(result.value) ?? '', issues: result.warnings });
      } else {
        page.rejected.push({ index, ...(id ? { id } : {}), issues: result.issues });
      }
    });
    // An unplaceable last item may have no id: the envelope's own cursor is the fallback.
    if (page.lastId === undefined || itemId(envelope.value.data.at(-1)) === undefined) page.lastId = envelope.value.last_id ?? page.lastId;
    return page;
  }

  function validatedOne<T>(operation: string, { body, serverTimeSeconds }: Answer, validate: (raw: unknown) => Validated<T>): Fetched<T> {
    const result = validate(body);
    const raw = boundDepth(body).value;
    if (!result.ok) {
      throw new ApiError('invalid_payload', `${operation}: the record cannot be placed (${result.issues.map((i) => `${i.path || '$'}: ${i.message}`).join('; ')})`, {
        issues: result.issues,
        body: raw,
      });
    }
    return { value: result.value, warnings: result.warnings, raw, ...(serverTimeSeconds !== undefined ? { serverTimeSeconds } : {}) };
  }

  const seg = encodeURIComponent;
  const listQuery = (q: ListQuery): RequestQuery => ({ order: q.order, limit: q.limit, after: q.after, before: q.before });
  const stepQuery = (q: StepQuery): RequestQuery => ({
    ...listQuery(q),
    ...(q.includeFileSearchContent ? { 'include[]': FILE_SEARCH_CONTENT_INCLUDE } : {}),
  });

  return {
    provider,
    budget,

    /** One page of a thread's runs. */
    async listRuns(threadId: string, query: ListQuery = {}, signal?: AbortSignal): Promise<Page<Run>> {
      const op = `list runs of ${threadId}`;
      return validatedPage(op, await getJson(op, `/threads/${seg(threadId)}/runs`, listQuery(query), signal), validateRun);
    },

    async getRun(threadId: string, runId: string, signal?: AbortSignal): Promise<Fetched<Run>> {
      const op = `get run ${runId} of ${threadId}`;
      return validatedOne(op, await getJson(op, `/threads/${seg(threadId)}/runs/${seg(runId)}`, {}, signal), validateRun);
    },

    /** One page of a run's steps. */
    async listRunSteps(threadId: string, runId: string, query: StepQuery = {}, signal?: AbortSignal): Promise<Page<RunStep>> {
      const op = `list steps of ${runId}`;
      const body = await getJson(op, `/threads/${seg(threadId)}/runs/${seg(runId)}/steps`, stepQuery(query), signal);
      return validatedPage(op, body, validateRunStep);
    },

    async getRunStep(threadId: string, runId: string, stepId: string, query: { includeFileSearchContent?: boolean } = {}, signal?: AbortSignal): Promise<Fetched<RunStep>> {
      const op = `get step ${stepId} of ${runId}`;
      const body = await getJson(op, `/threads/${seg(threadId)}/runs/${seg(runId)}/steps/${seg(stepId)}`, stepQuery(query), signal);
      return validatedOne(op, body, validateRunStep);
    },
  };
}

export type AssistantsClient = ReturnType<typeof createAssistantsClient>;
