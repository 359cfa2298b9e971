import { createHash } from 'node:crypto';

// ASCII order (digits < upper < lower), so a fixed-width base62 counter sorts like the number it encodes.
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const COUNTER_WIDTH = 6;
const HASH_WIDTH = 18;

export function toBase62(value: number, width: number): string {
  let n = Math.floor(value);
  let out = '';
  do {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(width, '0');
}

function hashChars(input: string, width: number): string {
  const digest = createHash('sha256').update(input).digest();
  let out = '';
  for (let i = 0; out.length < width; i++) out += BASE62[(digest[i % digest.length] ?? 0) % 62];
  return out;
}

/** A small non-cryptographic integer in [0, modulo) derived from text: used for realistic, repeatable token counts. */
export function stableInt(text: string, modulo: number): number {
  const digest = createHash('sha256').update(text).digest();
  return digest.readUInt32BE(0) % modulo;
}

export interface IdFactory {
  /** `prefix` + 24 characters, e.g. `run_00001Fq3...`; the same seed and call order give the same IDs. */
  next(prefix: string): string;
  /** `req_` + 32 hex characters, the shape of OpenAI's `x-request-id`. */
  nextRequestId(): string;
}

/**
 * IDs look like the provider's (a prefix and 24 base62 characters) but are deterministic: a
 * counter (so IDs created later sort later, which keeps "order by created_at, then id" equal to
 * creation order) followed by a hash of the seed (so two seeds never share IDs).
 */
export function createIdFactory(seed: string): IdFactory {
  let counter = 0;
  let requests = 0;
  return {
    next(prefix) {
      counter += 1;
      return prefix + toBase62(counter, COUNTER_WIDTH) + hashChars(`${seed}|${prefix}|${counter}`, HASH_WIDTH);
    },
    nextRequestId() {
      requests += 1;
      return 'req_' + createHash('sha256').update(`${seed}|request|${requests}`).digest('hex').slice(0, 32);
    },
  };
}
