/**
 * Span status from a record's status and `last_error`.
 *
 * - `failed`: ERROR, `error.type` = the error code (or `_OTHER`), message = the error message.
 * - `expired`: ERROR, `error.type` = `expired` (the run or step ran out of time).
 * - `completed`, `cancelled`, `incomplete`: UNSET (a cancel is a decision, not a fault; an incomplete
 *   run hit a token limit and says so in `assistants.run.incomplete_reason`).
 * - a status we do not know: UNSET, unless it carries a `last_error`, which makes it ERROR.
 */
import { SpanStatusCode, type SpanStatus } from '@opentelemetry/api';
import type { LastError } from '../api/schemas.js';
import { ERROR_TYPE_OTHER } from './semconv.js';

export interface MappedStatus {
  status: SpanStatus;
  /** `error.type`, set only when the status is ERROR. */
  errorType?: string;
}

function errorStatus(errorType: string, message: string | null | undefined): MappedStatus {
  return {
    status: message ? { code: SpanStatusCode.ERROR, message } : { code: SpanStatusCode.ERROR },
    errorType,
  };
}

export function mapStatus(status: string | undefined, lastError: LastError | null | undefined): MappedStatus {
  switch (status) {
    case 'failed':
      return errorStatus(lastError?.code || ERROR_TYPE_OTHER, lastError?.message);
    case 'expired':
      return errorStatus('expired', lastError?.message);
    case 'completed':
    case 'cancelled':
    case 'incomplete':
      return { status: { code: SpanStatusCode.UNSET } };
    default:
      if (lastError) return errorStatus(lastError.code || ERROR_TYPE_OTHER, lastError.message);
      return { status: { code: SpanStatusCode.UNSET } };
  }
}
