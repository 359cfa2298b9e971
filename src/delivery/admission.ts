/**
 * The delivery queue's bound: at most `maxSpans` spans and `maxBytes` bytes (span-size.ts) are held
 * at once, queued or in flight. Room is granted first come, first served; a grant reserves the room
 * at once, so nobody can take it between the grant and the caller's use of it.
 */
import { AbortedError } from '../util/backoff.js';

export interface Room {
  spans: number;
  bytes: number;
}

interface Waiter extends Room {
  /** Reserves on grant (admission) or only looks (someone waiting to plan work). */
  reserve: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class ClosedError extends Error {
  override readonly name = 'ClosedError';
}

export class Admission {
  private used: Room = { spans: 0, bytes: 0 };
  private peak: Room = { spans: 0, bytes: 0 };
  private readonly waiters: Waiter[] = [];
  private closedWith: Error | undefined;

  constructor(readonly limits: Room) {
    if (!(limits.spans >= 1) || !(limits.bytes >= 1)) throw new RangeError(`queue limits must be positive, got ${limits.spans} spans and ${limits.bytes} bytes`);
  }

  /** Held now (queued or in flight), and the most ever held. */
  usage(): { used: Room; peak: Room } {
    return { used: { ...this.used }, peak: { ...this.peak } };
  }

  /** Someone waits for room. */
  get waiting(): number {
    return this.waiters.filter((w) => w.reserve).length;
  }

  fits(room: Room): boolean {
    return this.used.spans + room.spans <= this.limits.spans && this.used.bytes + room.bytes <= this.limits.bytes;
  }

  /** Room now, with nobody ahead in the queue. */
  hasRoomFor(room: Room): boolean {
    return this.waiters.length === 0 && this.fits(room);
  }

  /** Takes the room at once if there is some and nobody waits; false otherwise. */
  tryTake(room: Room): boolean {
    if (this.closedWith || !this.hasRoomFor(room)) return false;
    this.add(room.spans, room.bytes);
    return true;
  }

  /** Waits for the room and takes it (first come, first served). */
  take(room: Room, signal?: AbortSignal): Promise<void> | void {
    if (this.closedWith) throw this.closedWith;
    if (this.waiters.length === 0 && this.fits(room)) {
      this.add(room.spans, room.bytes);
      return;
    }
    return this.wait(room, true, signal);
  }

  /** Resolves once `room` would fit (without taking it). */
  waitFor(room: Room, signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.hasRoomFor(room)) return Promise.resolve();
    return this.wait(room, false, signal);
  }

  release(room: Room): void {
    this.used = { spans: this.used.spans - room.spans, bytes: this.used.bytes - room.bytes };
    this.pump();
  }

  /** Every waiter (and every later call) is refused with `error`. */
  close(error: Error): void {
    this.closedWith = error;
    for (const waiter of this.waiters.splice(0)) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(error);
    }
  }

  private add(spans: number, bytes: number): void {
    this.used = { spans: this.used.spans + spans, bytes: this.used.bytes + bytes };
    this.peak = { spans: Math.max(this.peak.spans, this.used.spans), bytes: Math.max(this.peak.bytes, this.used.bytes) };
  }

  private wait(room: Room, reserve: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        ...room,
        reserve,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(new AbortedError());
          this.pump(); // the next waiter may fit now
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private pump(): void {
    while (this.waiters.length > 0) {
      const next = this.waiters[0] as Waiter;
      if (!this.fits(next)) return;
      this.waiters.shift();
      next.signal?.removeEventListener('abort', next.onAbort);
      if (next.reserve) this.add(next.spans, next.bytes);
      next.resolve();
    }
  }
}
