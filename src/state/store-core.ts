/**
 * The `StateStore` lifecycle both stores share: `load` first, then mutations, then `close`. A
 * mutation is checked and applied to the in-memory model synchronously, in call order, and its
 * promise resolves when the backend says the op is durable. A store only differs in its backend.
 */
import { applyOp, ops, toSnapshot, type StateModel, type StateOp } from './model.js';
import type { StateSnapshot, StateStore, WatchedRun, WatchedThread } from './store.js';

export interface StoreBackend {
  /** Names the store in errors ("state file /var/lib/x.json", "memory state store"). */
  readonly name: string;
  /** Opens the storage and returns what it holds. Called once. */
  open(): Promise<StateModel>;
  /**
   * Makes `op` durable; resolves once it is. Called synchronously right after `op` was applied to the
   * model, in call order, so a backend may read the model (to snapshot it) at any later point.
   */
  commit(op: StateOp): Promise<void>;
  /** Waits for pending commits, persists everything, releases the storage. Called at most once. */
  close(): Promise<void>;
}

export function createStoreWithBackend(backend: StoreBackend): StateStore {
  let closed = false;
  let model: StateModel | undefined;
  let opening: Promise<StateModel> | undefined;
  let closing: Promise<void> | undefined;

  const openModel = (): StateModel => {
    if (closed) throw new Error(`${backend.name} is closed`);
    if (!model) throw new Error(`${backend.name}: call load() before any mutation`);
    return model;
  };

  // Each method builds its op and applies it before the first await, so ops apply in call order
  // and a `setAside` total is computed from every earlier call, resolved or not.
  const mutate = async (build: (current: StateModel) => StateOp): Promise<void> => {
    const current = openModel();
    const op = build(current);
    applyOp(current, op);
    await backend.commit(op);
  };

  return {
    async load(): Promise<StateSnapshot> {
      if (closed) throw new Error(`${backend.name} is closed`);
      // A second call (or one while the first is still reading) sees the current state, not the disk.
      opening ??= backend.open().then((opened) => (model = opened));
      return toSnapshot(await opening);
    },
    putThread: (thread: WatchedThread) => mutate(() => ops.putThread(thread)),
    removeThread: (threadId: string) => mutate(() => ops.removeThread(threadId)),
    putRun: (run: WatchedRun) => mutate(() => ops.putRun(run)),
    markStepsExported: (runId: string, stepIds: readonly string[]) => mutate(() => ops.markStepsExported(runId, stepIds)),
    markRunDone: (runId: string, at: number) => mutate(() => ops.markRunDone(runId, at)),
    removeRun: (runId: string) => mutate(() => ops.removeRun(runId)),
    pruneDone: (before: number) => mutate(() => ops.pruneDone(before)),
    addSetAside: (spans: number) => mutate((current) => ops.addSetAside(current, spans)),
    close(): Promise<void> {
      closing ??= (async () => {
        closed = true; // before the first await: a mutation called after close() rejects
        if (!opening) return;
        // Closed while load() may still be reading: let it finish, then release what it took.
        const opened = await opening.then(() => true, () => false);
        if (opened) await backend.close();
      })();
      return closing;
    },
  };
}
