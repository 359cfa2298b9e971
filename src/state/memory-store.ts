/**
 * The in-memory state store, for tests: the file store's semantics (same checks, same op model,
 * `load` returns a deep copy, mutations before `load` or after `close` reject) without the disk.
 */
import { emptyModel, modelFromSnapshot } from './model.js';
import { createStoreWithBackend } from './store-core.js';
import type { StateSnapshot, StateStore } from './store.js';

/** A store starting from a copy of `initial` (empty if omitted); throws a `TypeError` if it is malformed. */
export function createMemoryStateStore(initial?: StateSnapshot): StateStore {
  const model = initial === undefined ? emptyModel() : modelFromSnapshot(initial);
  if (typeof model === 'string') throw new TypeError(`createMemoryStateStore: invalid initial snapshot: ${model}`);
  return createStoreWithBackend({
    name: 'memory state store',
    open: () => Promise.resolve(model),
    commit: () => Promise.resolve(),
    close: () => Promise.resolve(),
  });
}
