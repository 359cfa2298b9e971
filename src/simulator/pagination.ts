// Cursor pagination as the list endpoints do it: `limit`, `order`, `after`/`before` object IDs.
import { errors } from './errors.js';

export const FILE_SEARCH_CONTENT_INCLUDE = 'step_details.tool_calls[*].file_search.results[*].content';

export interface ListQuery {
  limit: number;
  order: 'asc' | 'desc';
  after: string | undefined;
  before: string | undefined;
}

/** Validates `limit` (default 20, 1..100 as the description says; D7) and `order` (default `desc`). */
export function parseListQuery(query: URLSearchParams): ListQuery {
  const rawLimit = query.get('limit');
  let limit = 20;
  if (rawLimit !== null) {
    if (!/^-?\d+$/.test(rawLimit.trim())) throw errors.invalidType('limit', 'an integer', `'${rawLimit}'`);
    limit = Number(rawLimit);
    if (limit < 1) throw errors.integerBelowMin('limit', 1, limit);
    if (limit > 100) throw errors.integerAboveMax('limit', 100, limit);
  }
  const rawOrder = query.get('order') ?? 'desc';
  if (rawOrder !== 'asc' && rawOrder !== 'desc') throw errors.invalidValue('order', rawOrder, ['asc', 'desc']);
  return { limit, order: rawOrder, after: query.get('after') ?? undefined, before: query.get('before') ?? undefined };
}

/** `include[]` values (the SDK sends `include[]=…`; a bare repeated `include=…` is accepted too). */
export function parseInclude(query: URLSearchParams): { fileSearchContent: boolean } {
  const values = [...query.getAll('include[]'), ...query.getAll('include')];
  values.forEach((value, i) => {
    if (value !== FILE_SEARCH_CONTENT_INCLUDE) throw errors.invalidValue(`include[${i}]`, value, [FILE_SEARCH_CONTENT_INCLUDE]);
  });
  return { fileSearchContent: values.length > 0 };
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

/**
 * `items` must be in ascending (created_at, id) order. `after`/`before` name an object in the list
 * (400 if there is none: unverified, but a silent empty page would hide a client's bug).
 * `has_more` tells whether more items lie in the direction of travel.
 */
export function paginate<T extends { id: string }>(ascending: readonly T[], query: ListQuery): Page<T> {
  const ordered = query.order === 'asc' ? ascending : [...ascending].reverse();
  let start = 0;
  let end = ordered.length;
  if (query.after !== undefined) {
    const at = ordered.findIndex((item) => item.id === query.after);
    if (at < 0) throw errors.invalidCursor('after', query.after);
    start = at + 1;
  }
  if (query.before !== undefined) {
    const at = ordered.findIndex((item) => item.id === query.before);
    if (at < 0) throw errors.invalidCursor('before', query.before);
    end = Math.min(end, at);
  }
  if (end <= start) return { items: [], hasMore: false };
  if (query.before !== undefined && query.after === undefined) {
    // Paging backwards: the `limit` items just before the cursor, still in the requested order.
    const from = Math.max(start, end - query.limit);
    return { items: ordered.slice(from, end), hasMore: from > start };
  }
  const to = Math.min(end, start + query.limit);
  return { items: ordered.slice(start, to), hasMore: to < end };
}

/** Ascending by created_at (whole seconds, as clients see it), then by ID. */
export function byCreation<T extends { id: string }>(items: readonly T[], createdAt: (item: T) => number): T[] {
  return [...items].sort((a, b) => createdAt(a) - createdAt(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
