/**
 * Observing the `openai` SDK's own objects without changing them for the application.
 *
 * - An `APIPromise` is lazy: it reads the answer only when someone awaits it, then once
 *   (`parse()` is memoized) through its `parseResponse` function, an own property. We wrap that
 *   property on the very promise the application gets: nothing is read that the application did
 *   not read, the same value comes out, an error goes through untouched, and the promise object,
 *   its class and its helpers (`withResponse`, `asResponse`) are the SDK's.
 * - A `Stream` yields its events through `stream.iterator()` (used by `for await`, `tee()`,
 *   `toReadableStream()` and the SDK's `AssistantStream`). We wrap that own property of the very
 *   stream the application gets: the same event objects, in the same order, from the same stream
 *   object; we see each one just before the application does. Ending, breaking out (`return`) and
 *   errors pass through to the SDK's iterator, which aborts the request as it always does.
 */
import type { Guard } from './guard.js';
import type { StreamFollower } from './stream-follower.js';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

export interface ApiPromiseLike {
  parseResponse: AnyFunction;
}

export function isApiPromiseLike(value: unknown): value is ApiPromiseLike {
  return typeof value === 'object' && value !== null && typeof (value as { parseResponse?: unknown }).parseResponse === 'function';
}

/** Calls `onValue` with what the application's await of `promise` produces, when it does. */
export function onParsed(promise: unknown, guard: Guard, where: string, onValue: (value: unknown) => void): void {
  if (!isApiPromiseLike(promise)) return;
  const original = promise.parseResponse;
  promise.parseResponse = function (this: unknown, ...args: unknown[]) {
    const parsed = original.apply(this, args);
    return Promise.resolve(parsed).then((value) => {
      guard.run(where, () => onValue(value), undefined);
      return value;
    });
  };
}

export interface StreamLike {
  iterator: AnyFunction;
}

export function isStreamLike(value: unknown): value is StreamLike {
  return typeof value === 'object' && value !== null && typeof (value as { iterator?: unknown }).iterator === 'function';
}

interface AsyncIteratorLike {
  next(...args: unknown[]): Promise<IteratorResult<unknown>>;
  return?(...args: unknown[]): Promise<IteratorResult<unknown>>;
  throw?(...args: unknown[]): Promise<IteratorResult<unknown>>;
}

/** Sees every event of `stream` the application reads, and how its reading ends. */
export function observeStream(stream: StreamLike, follower: StreamFollower, guard: Guard, now: () => number): void {
  const original = stream.iterator;
  stream.iterator = function (this: unknown, ...args: unknown[]) {
    const inner = original.apply(this, args) as AsyncIteratorLike;
    return guard.run('observing a stream', () => observedIterator(inner, follower, guard, now), inner);
  };
}

function observedIterator(inner: AsyncIteratorLike, follower: StreamFollower, guard: Guard, now: () => number): AsyncIteratorLike {
  const watch = (fn: () => void) => guard.run('observing a stream event', fn, undefined);
  const outer: AsyncIteratorLike & { [Symbol.asyncIterator](): AsyncIteratorLike } = {
    next(...args) {
      return inner.next(...args).then(
        (result) => {
          watch(() => {
            if (result.done) follower.end('done');
            else {
              const event = result.value as { event?: unknown; data?: unknown } | null;
              follower.event(typeof event?.event === 'string' ? event.event : undefined, event?.data, now());
            }
          });
          return result;
        },
        (error: unknown) => {
          watch(() => follower.end('error'));
          throw error;
        },
      );
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  if (typeof inner.return === 'function') {
    const close = inner.return.bind(inner);
    outer.return = (...args) => {
      watch(() => follower.end('closed'));
      return close(...args);
    };
  }
  if (typeof inner.throw === 'function') {
    const fail = inner.throw.bind(inner);
    outer.throw = (...args) => {
      watch(() => follower.end('error'));
      return fail(...args);
    };
  }
  return outer;
}
