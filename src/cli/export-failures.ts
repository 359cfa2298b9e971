/**
 * What could not be delivered, kept as counts by cause rather than as the spans themselves: a long
 * import against a collector that refuses everything must not hold every span it was refused.
 * One line per distinct cause, with how many spans and requests it took.
 */
import type { FailedOutcome } from '../delivery/send.js';

/** Distinct causes listed; past this, the rest are counted together. */
const MAX_CAUSES = 20;

interface Cause {
  what: string;
  reason: string;
  spans: number;
  requests: number;
}

function describe(failure: FailedOutcome): string {
  const status = failure.kind === 'rejected' && failure.status ? ` HTTP ${failure.status}` : '';
  const what =
    failure.kind === 'rejected'
      ? 'refused by the collector'
      : failure.kind === 'unexportable'
        ? 'could not be exported (set aside; the other runs were exported)'
        : `not delivered after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'}`;
  return `${what}${status}`;
}

export class FailureSummary {
  private readonly causes = new Map<string, Cause>();
  private otherSpans = 0;
  private otherRequests = 0;

  get failed(): boolean {
    return this.causes.size > 0 || this.otherRequests > 0;
  }

  /** Takes the failures out of `failures` (emptied), keeping only their counts. */
  absorb(failures: FailedOutcome[]): void {
    for (const failure of failures.splice(0)) {
      const what = describe(failure);
      const key = `${what}\u0000${failure.reason}`;
      let cause = this.causes.get(key);
      if (!cause && this.causes.size >= MAX_CAUSES) {
        this.otherSpans += failure.spans.length;
        this.otherRequests++;
        continue;
      }
      if (!cause) {
        cause = { what, reason: failure.reason, spans: 0, requests: 0 };
        this.causes.set(key, cause);
      }
      cause.spans += failure.spans.length;
      cause.requests++;
    }
  }

  /** `export failed: …` lines, one per cause. */
  lines(): string[] {
    const lines = [...this.causes.values()].map((c) => `export failed: ${c.spans} spans ${c.what}${c.requests > 1 ? ` (${c.requests} requests)` : ''}: ${c.reason}`);
    if (this.otherRequests > 0) lines.push(`export failed: ${this.otherSpans} more spans in ${this.otherRequests} requests, for other reasons`);
    return lines;
  }
}
