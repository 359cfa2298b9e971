/**
 * Discovering a thread's runs. With a cursor (the newest run seen), one request per 100 new runs:
 * `order=asc&after=cursor`. Without one (a thread watched for the first time), the newest runs are
 * read backwards until they are older than the thread's `since` minus an hour: nothing older can
 * still be active, since the API expires a run after ten minutes without progress.
 */
import type { AssistantsClient } from '../api/client.js';
import { collectPages } from '../api/pagination.js';
import { isApiError } from '../api/errors.js';
import type { Run } from '../api/schemas.js';
import type { Issue } from '../api/validate.js';
import type { WatchedThread } from '../state/store.js';

const LOOKBACK_SECONDS = 3600;

export interface Discovery {
  runs: Run[];
  /** The newest run id now seen (unchanged when nothing new). */
  cursor: string | undefined;
  rejected: number;
  issues: Array<{ index: number; id?: string } & Issue>;
}

export async function discoverRuns(client: AssistantsClient, thread: WatchedThread, signal?: AbortSignal): Promise<Discovery> {
  const { threadId } = thread;
  if (thread.cursor !== undefined) {
    let page;
    try {
      page = await collectPages((after, limit) =>
        client.listRuns(threadId, { order: 'asc', limit, after: after ?? (thread.cursor as string) }, signal),
      );
    } catch (error) {
      // The cursor's run was deleted: the server refuses it as `after`. Start again from the newest
      // runs; the `done` marks keep runs already exported from being exported twice.
      if (!isApiError(error, 'invalid_request') && !isApiError(error, 'not_found')) throw error;
      const { cursor: _dropped, ...rest } = thread;
      return discoverRuns(client, rest, signal);
    }
    return {
      runs: page.items,
      cursor: page.lastId ?? thread.cursor,
      rejected: page.rejected.length,
      issues: page.rejected.flatMap((r) => r.issues.map((i) => ({ index: r.index, ...(r.id ? { id: r.id } : {}), ...i }))),
    };
  }

  const oldestWanted = thread.since - LOOKBACK_SECONDS;
  const runs: Run[] = [];
  const issues: Discovery['issues'] = [];
  let rejected = 0;
  let cursor: string | undefined;
  let after: string | undefined;
  for (;;) {
    const page = await client.listRuns(threadId, { order: 'desc', limit: 100, ...(after ? { after } : {}) }, signal);
    cursor ??= page.items[0]?.id;
    runs.push(...page.items);
    rejected += page.rejected.length;
    issues.push(...page.rejected.flatMap((r) => r.issues.map((i) => ({ index: r.index, ...(r.id ? { id: r.id } : {}), ...i }))));
    const oldest = page.items.at(-1)?.created_at;
    if (!page.hasMore || page.lastId === undefined || (oldest !== undefined && oldest < oldestWanted)) break;
    after = page.lastId;
  }
  return { runs, cursor, rejected, issues };
}
