/**
 * What a failed thread listing or run read means for what is watched: failures are values, decided
 * here and acted on by the poller. Aborted (stopping): nothing. Authentication refused: fatal, the
 * sidecar cannot go on. 404 or 410: the thread or run is gone (or never existed): reported and dropped, and
 * a thread goes on without the run. A run record that cannot be placed, or whose records cannot be
 * mapped: reported once and dropped (reading it again would fail again). Anything else: tried
 * again after a backoff.
 */
import { ApiError } from '../api/errors.js';
import type { LogFields } from '../util/log.js';
import { RunMappingError } from './run-export.js';

export type FailureAction =
  | { kind: 'ignore' }
  | { kind: 'fatal'; error: ApiError }
  | { kind: 'drop'; reason: 'not_found' | 'malformed'; level: 'warn' | 'error'; message: string; fields: LogFields; rejected: boolean }
  | { kind: 'retry' };

export function classifyFailure(kind: 'thread' | 'run', error: unknown): FailureAction {
  if (error instanceof RunMappingError && kind === 'run') {
    return { kind: 'drop', reason: 'malformed', level: 'error', message: 'run cannot be mapped: reported once and no longer watched', fields: { error: error.reason }, rejected: true };
  }
  if (!(error instanceof ApiError)) return { kind: 'retry' };
  switch (error.kind) {
    case 'aborted':
      return { kind: 'ignore' };
    case 'auth':
      return { kind: 'fatal', error };
    case 'not_found':
      return { kind: 'drop', reason: 'not_found', level: 'warn', message: `${kind} not found (HTTP ${error.details.status ?? 404}): reported and no longer watched`, fields: { error: error.message }, rejected: false };
    case 'invalid_payload':
      if (kind !== 'run') return { kind: 'retry' };
      return { kind: 'drop', reason: 'malformed', level: 'error', message: 'malformed run record: reported and no longer watched', fields: { issues: error.details.issues ?? [], error: error.message }, rejected: true };
    default:
      return { kind: 'retry' };
  }
}
