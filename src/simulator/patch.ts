import type { RecordPatch } from './scenario-schema.js';

/** A path like `step_details.tool_calls.0.function.name` as keys and array indexes. */
function segments(path: string): string[] {
  return path.split('.').filter((s) => s.length > 0);
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null;
}

function setAt(root: unknown, path: string, value: unknown): void {
  const keys = segments(path);
  let node: unknown = root;
  for (const [i, key] of keys.entries()) {
    if (!isContainer(node)) return;
    const container = node as Record<string, unknown>;
    if (i === keys.length - 1) {
      container[key] = structuredClone(value);
      return;
    }
    if (!isContainer(container[key])) container[key] = /^\d+$/.test(keys[i + 1] ?? '') ? [] : {};
    node = container[key];
  }
}

function omitAt(root: unknown, path: string): void {
  const keys = segments(path);
  let node: unknown = root;
  for (const [i, key] of keys.entries()) {
    if (!isContainer(node)) return;
    if (i === keys.length - 1) {
      if (Array.isArray(node)) node.splice(Number(key), 1);
      else delete (node as Record<string, unknown>)[key];
      return;
    }
    node = (node as Record<string, unknown>)[key];
  }
}

/**
 * Applies a scenario's deliberate breakage to a rendered record. The record is copied first (it
 * shares objects with the state); without a patch it is returned as it is.
 */
export function applyPatch(rendered: Record<string, unknown>, patch: RecordPatch | undefined): unknown {
  if (patch === undefined) return rendered;
  if (patch.replaceWith !== undefined) return structuredClone(patch.replaceWith);
  const record = structuredClone(rendered);
  for (const [path, value] of Object.entries(patch.set ?? {})) setAt(record, path, value);
  for (const path of patch.omit ?? []) omitAt(record, path);
  return record;
}
