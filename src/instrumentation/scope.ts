/**
 * Our own async scope, independent of OpenTelemetry's context manager (which an application using
 * only the bridge's exporter may not have installed):
 *
 * - `handled`: the SDK methods whose call is already seen by one of our wrappers. A client
 *   instrumented twice (by `instrumentOpenAI` and by the `Instrumentation`'s prototype patches,
 *   say) is traced once. By method, since one wrapped method calls others (`poll` → `retrieve`).
 * - `capture`: a read the library makes itself; the Azure pipeline policy hands the raw body of its
 *   answer here instead of treating it as the application's own call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface InternalScope {
  handled?: ReadonlySet<string>;
  capture?: (raw: unknown) => void;
}

const storage = new AsyncLocalStorage<InternalScope>();

export function currentScope(): InternalScope | undefined {
  return storage.getStore();
}

export function inScope<T>(scope: InternalScope, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...scope }, fn);
}

/** Runs an SDK call marked as handled, so nested wrappers of the same method pass it through. */
export function asHandledBy<T>(method: string, fn: () => T): T {
  const handled = new Set(storage.getStore()?.handled ?? []);
  handled.add(method);
  return inScope({ handled }, fn);
}

export function isHandledBy(method: string): boolean {
  return storage.getStore()?.handled?.has(method) === true;
}
