/**
 * Deterministic span IDs through the application's own TracerProvider.
 *
 * The OpenTelemetry API cannot choose a span's IDs: the SDK's `Tracer.startSpan` asks the provider's
 * `IdGenerator` (`generateSpanId()` for every span, `generateTraceId()` for a root), synchronously,
 * inside the call. So the application installs this generator in its provider:
 *
 *   new NodeTracerProvider({ idGenerator: createDeterministicIdGenerator(), spanProcessors: [...] })
 *
 * and the library sets the IDs it wants in a slot just around its own `startSpan` call
 * (`withPendingIds`); every other span of the application gets the fallback generator's random IDs.
 * JavaScript runs `startSpan` to completion without yielding, so nothing else can start a span in
 * between; the slot is emptied as soon as an ID is taken, so a span a processor might start inside
 * `onStart` gets a random ID too. The slot lives on `globalThis` under a registered symbol, so two
 * copies of this package in one process (say ESM and CommonJS builds) share it.
 *
 * Without the generator the spans still form the right tree (each child is started under its real
 * parent), with random IDs; the library notices (the span it got has other IDs) and warns once.
 */
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';

export interface PendingIds {
  traceId?: string | undefined;
  spanId?: string | undefined;
}

interface Slot {
  pending: PendingIds | undefined;
  /** How many generators were created: a hint that the application meant to install one. */
  created: number;
}

const SLOT = Symbol.for('assistants-otel.pending-span-ids');

function slot(): Slot {
  const holder = globalThis as unknown as Record<symbol, Slot | undefined>;
  let found = holder[SLOT];
  if (!found) {
    found = { pending: undefined, created: 0 };
    Object.defineProperty(holder, SLOT, { value: found, enumerable: false });
  }
  return found;
}

/**
 * An `IdGenerator` for the application's TracerProvider: random IDs (from `fallback`, by default the
 * SDK's `RandomIdGenerator`) except for the spans the library starts, which get the IDs derived from
 * the provider's run, step and tool call IDs (the same as the sidecar's and `import`'s).
 */
export function createDeterministicIdGenerator(fallback: IdGenerator = new RandomIdGenerator()): IdGenerator {
  const shared = slot();
  shared.created++;
  return {
    generateTraceId(): string {
      const id = shared.pending?.traceId;
      if (id === undefined) return fallback.generateTraceId();
      (shared.pending as PendingIds).traceId = undefined;
      return id;
    },
    generateSpanId(): string {
      const id = shared.pending?.spanId;
      if (id === undefined) return fallback.generateSpanId();
      (shared.pending as PendingIds).spanId = undefined;
      return id;
    },
  };
}

/** Runs `start` (a synchronous `startSpan` call) with `ids` offered to the generator. */
export function withPendingIds<T>(ids: PendingIds, start: () => T): T {
  const shared = slot();
  const previous = shared.pending;
  shared.pending = { ...ids };
  try {
    return start();
  } finally {
    shared.pending = previous;
  }
}

/** True once `createDeterministicIdGenerator` was called in this process. */
export function deterministicIdGeneratorCreated(): boolean {
  return slot().created > 0;
}
