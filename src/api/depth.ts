/**
 * A bound on nesting depth, applied at the validation boundary, so that nothing downstream (the
 * mapper, `JSON.stringify` of content, the query commands' JSON output) can overflow the stack.
 *
 * `JSON.parse` reads any depth (V8 parses iteratively), but `JSON.stringify` and `structuredClone`
 * recurse and fail somewhere past a few thousand levels: one record nested 20,000 levels deep
 * would otherwise abort a whole import. No real record comes near the limit (a run step is about
 * eight levels deep; a tool's JSON Schema perhaps twenty), so a value nested deeper than
 * {@link MAX_NESTING_DEPTH} levels is cut: replaced by a marker string, reported as a warning
 * naming where, and recorded on the span as the quirk `nesting_depth_cut`.
 *
 * Both functions here are iterative (an explicit stack), so they are safe at any depth themselves.
 */

/** Levels of objects and arrays below the record itself; deeper values are cut. */
export const MAX_NESTING_DEPTH = 64;

export const QUIRK_NESTING_DEPTH_CUT = 'nesting_depth_cut';

/** What a cut value is replaced with. */
export const DEPTH_CUT_MARKER = `[cut: nested deeper than ${MAX_NESTING_DEPTH} levels]`;

export interface DepthCut {
  /** Path of the first value cut, e.g. `metadata.a.a.a…` (shortened). */
  path: string;
  /** How many values were cut in all. */
  count: number;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** True when some value inside `value` lies deeper than `limit` levels. Iterative. */
export function deeperThan(value: unknown, limit: number = MAX_NESTING_DEPTH): boolean {
  if (!isContainer(value)) return false;
  // Two parallel stacks rather than tuples: this runs on every record, so it allocates little.
  const objects: object[] = [value];
  const depths: number[] = [0];
  while (objects.length > 0) {
    const current = objects.pop() as Record<string, unknown>;
    const depth = depths.pop() as number;
    for (const key in current) {
      const child = current[key];
      if (typeof child !== 'object' || child === null) continue;
      if (depth + 1 > limit) return true;
      objects.push(child);
      depths.push(depth + 1);
    }
  }
  return false;
}

const MAX_PATH_PARTS_SHOWN = 6;

function pathText(parts: readonly (string | number)[]): string {
  const shownParts = parts.length > MAX_PATH_PARTS_SHOWN ? parts.slice(0, MAX_PATH_PARTS_SHOWN) : parts;
  let out = '';
  for (const part of shownParts) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return parts.length > MAX_PATH_PARTS_SHOWN ? `${out}… (${parts.length} levels)` : out;
}

/**
 * A copy of `value` with every object or array nested deeper than `limit` replaced by
 * {@link DEPTH_CUT_MARKER}, and where the first cut was made; `value` itself when nothing is too
 * deep (no copy). Iterative: safe at any depth.
 */
export function boundDepth<T>(value: T, limit: number = MAX_NESTING_DEPTH): { value: T; cut: DepthCut | undefined } {
  if (!deeperThan(value, limit)) return { value, cut: undefined };
  let first: string | undefined;
  let count = 0;
  const copyOf = (container: object): Record<string, unknown> | unknown[] => (Array.isArray(container) ? [] : {});
  const root = copyOf(value as object);
  // Each entry: a source container, its copy, its depth, and its path from the record.
  const stack: Array<{ source: object; target: Record<string, unknown> | unknown[]; depth: number; path: (string | number)[] }> = [
    { source: value as object, target: root, depth: 0, path: [] },
  ];
  while (stack.length > 0) {
    const { source, target, depth, path } = stack.pop() as (typeof stack)[number];
    const isArray = Array.isArray(source);
    for (const [key, child] of Object.entries(source)) {
      const part = isArray ? Number(key) : key;
      let copied: unknown = child;
      if (isContainer(child)) {
        if (depth + 1 > limit) {
          copied = DEPTH_CUT_MARKER;
          count++;
          first ??= pathText([...path, part]);
        } else {
          const childCopy = copyOf(child);
          copied = childCopy;
          stack.push({ source: child, target: childCopy, depth: depth + 1, path: [...path, part] });
        }
      }
      // defineProperty, not assignment: a key named `__proto__` (JSON.parse makes it an own key) stays data.
      Object.defineProperty(target, key, { value: copied, enumerable: true, writable: true, configurable: true });
    }
  }
  return { value: root as T, cut: { path: first ?? '', count } };
}
