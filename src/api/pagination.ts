/**
 * Following the API's cursor pagination: `after` = the id of the last item of the previous page,
 * until `has_more` is false (as the official SDK does; `last_id` is only a fallback, §7 D9).
 */
import type { AssistantsClient, ListQuery, Page, StepQuery } from './client.js';
import type { Run, RunStep } from './schemas.js';

/** Every page, following `after` from each page's last item, until `has_more` is false. */
export async function* paginate<T>(
  fetchPage: (after: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<Page<T>> {
  let after: string | undefined;
  for (;;) {
    const page = await fetchPage(after);
    yield page;
    if (!page.hasMore || page.lastId === undefined || page.lastId === after) return;
    after = page.lastId;
  }
}

/** The API's largest page. */
export const MAX_PAGE_SIZE = 100;

/**
 * Items of every page (following `after`), up to `limit` items when given, with the rejections and
 * warnings of every page (their `index` counted across pages).
 */
export async function collectPages<T>(
  fetchPage: (after: string | undefined, pageSize: number) => Promise<Page<T>>,
  limit?: number,
): Promise<Page<T>> {
  const all: Page<T> = { items: [], rejected: [], warnings: [], records: [], hasMore: false, lastId: undefined };
  let offset = 0;
  const pageSize = () => Math.min(MAX_PAGE_SIZE, limit === undefined ? MAX_PAGE_SIZE : limit - all.items.length);
  for await (const page of paginate((after) => fetchPage(after, pageSize()))) {
    all.items.push(...page.items);
    all.records?.push(...(page.records ?? [...page.items]));
    all.rejected.push(...page.rejected.map((r) => ({ ...r, index: r.index + offset })));
    all.warnings.push(...page.warnings.map((w) => ({ ...w, index: w.index + offset })));
    offset += page.items.length + page.rejected.length;
    all.lastId = page.lastId;
    all.hasMore = page.hasMore;
    if (limit !== undefined && all.items.length >= limit) break;
  }
  if (limit !== undefined) all.items = all.items.slice(0, limit);
  if (limit !== undefined && all.records) all.records = all.records.slice(0, limit);
  return all;
}

/** All of a run's steps, 100 per page, oldest first unless `order` says otherwise. */
export function listAllRunSteps(
  client: AssistantsClient,
  threadId: string,
  runId: string,
  query: Omit<StepQuery, 'after' | 'before' | 'limit'> = {},
  signal?: AbortSignal,
  limit?: number,
): Promise<Page<RunStep>> {
  return collectPages(
    (after, pageSize) => client.listRunSteps(threadId, runId, { order: 'asc', ...query, limit: pageSize, ...(after ? { after } : {}) }, signal),
    limit,
  );
}

/** A thread's runs, 100 per page, up to `limit`. */
export function listAllRuns(
  client: AssistantsClient,
  threadId: string,
  query: Omit<ListQuery, 'after' | 'before' | 'limit'> = {},
  signal?: AbortSignal,
  limit?: number,
): Promise<Page<Run>> {
  return collectPages(
    (after, pageSize) => client.listRuns(threadId, { ...query, limit: pageSize, ...(after ? { after } : {}) }, signal),
    limit,
  );
}
