// OpenAI-style error answers: `{error: {message, type, param, code}}`, in the API's own wording
// where it is known (marked "obs") and in its style otherwise.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const invalid = (message: string, param: string | null = null, code: string | null = null, status = 400) =>
  new ApiError(status, 'invalid_request_error', message, param, code);

export const errors = {
  /** (obs) The message the API gives for an unknown route. */
  invalidUrl: (method: string, fullPath: string) => invalid(`Invalid URL (${method} ${fullPath})`, null, null, 404),
  notFound: (what: 'thread' | 'run' | 'step' | 'message', id: string) => invalid(`No ${what} found with id '${id}'.`, null, null, 404),
  /** (obs) Missing key. The real wording also mentions browser auth; kept. */
  missingKey: () =>
    invalid(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
      null,
      null,
      401,
    ),
  /** The real message echoes a masked key; this one never repeats any part of the credential. */
  invalidKey: () =>
    invalid('Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', null, 'invalid_api_key', 401),
  /** (obs) From several GitHub issues. */
  missingBeta: () =>
    invalid(
      "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try again by setting the header 'OpenAI-Beta: assistants=v2'.",
      null,
      'invalid_beta',
    ),
  missingApiVersion: () => invalid('Missing required query parameter: api-version. The api-version query parameter (?api-version=) is required for all requests.', 'api-version', 'missing_api_version'),
  unsupportedApiVersion: (given: string, supported: readonly string[]) =>
    invalid(`Unsupported api-version '${given}'. Supported: ${supported.map((v) => `'${v}'`).join(', ')}.`, 'api-version', 'unsupported_api_version'),
  /** (obs) The API's answer to a body that is not JSON. */
  badJson: () =>
    invalid(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
    ),
  missingParam: (param: string) => invalid(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter'),
  invalidType: (param: string, expected: string, got: string) =>
    invalid(`Invalid type for '${param}': expected ${expected}, but got ${got} instead.`, param, 'invalid_type'),
  invalidValue: (param: string, given: string, supported: readonly string[]) =>
    invalid(`Invalid value: '${given}'. Supported values are: ${supported.map((v) => `'${v}'`).join(', ')}.`, param, 'invalid_value'),
  integerBelowMin: (param: string, min: number, got: number) =>
    invalid(`Invalid '${param}': integer below minimum value. Expected a value >= ${min}, but got ${got} instead.`, param, 'integer_below_min_value'),
  integerAboveMax: (param: string, max: number, got: number) =>
    invalid(`Invalid '${param}': integer above maximum value. Expected a value <= ${max}, but got ${got} instead.`, param, 'integer_above_max_value'),
  invalidCursor: (param: 'after' | 'before', id: string) => invalid(`Invalid '${param}': no object found with id '${id}'.`, param, 'invalid_value'),
  activeRun: (threadId: string, runId: string) => invalid(`Thread ${threadId} already has an active run ${runId}.`),
  messageWhileActive: (threadId: string, runId: string) => invalid(`Can't add messages to ${threadId} while a run ${runId} is active.`),
  cannotCancel: (status: string) => invalid(`Cannot cancel run with status '${status}'.`),
  noToolOutputsAccepted: (status: string) => invalid(`Runs in status "${status}" do not accept tool outputs.`),
  toolOutputsMismatch: (expected: readonly string[], got: readonly string[]) =>
    invalid(`Expected tool outputs for call_ids [${expected.map((i) => `'${i}'`).join(', ')}], got [${got.map((i) => `'${i}'`).join(', ')}]`, 'tool_outputs'),
  tooLarge: () => invalid('Request body too large.', null, null, 413),
  /** (obs) The rate-limit wording, without an organisation ID. */
  rateLimited: (retryAfterSeconds: number | null) =>
    new ApiError(
      429,
      'requests',
      `Rate limit reached for requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in ${retryAfterSeconds ?? 1}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      null,
      'rate_limit_exceeded',
      retryAfterSeconds === null ? {} : { 'retry-after': String(retryAfterSeconds) },
    ),
  /** (obs) */
  serverError: (status: number) =>
    status === 503
      ? new ApiError(503, 'server_error', 'The server is overloaded or not ready yet.')
      : new ApiError(status, 'server_error', 'The server had an error while processing your request. Sorry about that!'),
};
