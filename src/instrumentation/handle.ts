/**
 * The handle an `instrument…` call returns, and the mark on the client that makes a second call
 * return the same handle instead of wrapping the client twice.
 */
import type { TracingSession } from './session.js';

export interface InstrumentationHandle {
  /** Restores the client exactly (its methods are the SDK's own again) and stops following runs. */
  uninstrument(): void;
  /** Resolves once the spans of every run already finished were handed on (and, with the bridge's exporter, delivered). */
  flush(): Promise<void>;
  /** `flush`, `uninstrument`, and close the bridge's exporter if one was configured. */
  shutdown(): Promise<void>;
}

// Symbol.for: two copies of this package in one app (a nested install) still see each other's mark.
const INSTRUMENTED = Symbol.for('assistants-otel.instrumented');
type Marked = Record<symbol, InstrumentationHandle | undefined>;

/** The handle of a client already instrumented, if it is. */
export function existingHandle(client: unknown): InstrumentationHandle | undefined {
  return (client as Marked | null)?.[INSTRUMENTED];
}

/** A handle for a client that could not be instrumented: every call does nothing. */
export function inertHandle(): InstrumentationHandle {
  return { uninstrument() {}, flush: async () => {}, shutdown: async () => {} };
}

/**
 * Marks `client` as instrumented and returns its handle: `restore` undoes what was patched or
 * added (called once, however often `uninstrument` is), then the session stops following runs.
 */
export function attachHandle(client: object, session: TracingSession, restore: () => void): InstrumentationHandle {
  const marked = client as Marked;
  let done = false;
  const handle: InstrumentationHandle = {
    uninstrument() {
      if (done) return;
      done = true;
      restore();
      delete marked[INSTRUMENTED];
      session.stop();
    },
    flush: () => session.flush(),
    async shutdown() {
      await session.flush();
      handle.uninstrument();
      await session.shutdown();
    },
  };
  Object.defineProperty(marked, INSTRUMENTED, { value: handle, configurable: true, enumerable: false });
  return handle;
}
