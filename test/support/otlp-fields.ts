// Strict readers for one field of a decoded OTLP message. Both encodings go through them:
// protobuf arrives as protobufjs plain objects (bytes as Uint8Array, 64-bit as bigint, enums as
// numbers), JSON as parsed OTLP/JSON (hex ids, 64-bit as string or number, enums as number or name).
// A field that is absent reads as its proto3 default; a field of the wrong type is an error,
// because the receiver exists to catch exporters that send malformed data.
import type { Enum } from 'protobufjs';

import type { OtlpEncoding } from './otlp-types.js';

export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

type Plain = Record<string, unknown>;

export function readObject(value: unknown, where: string): Plain {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new OtlpDecodeError(`${where}: expected an object, got ${describe(value)}`);
  }
  return value as Plain;
}

export function readArray(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(`${where}: expected an array, got ${describe(value)}`);
  return value;
}

export function readString(value: unknown, where: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new OtlpDecodeError(`${where}: expected a string, got ${describe(value)}`);
  return value;
}

export function readBool(value: unknown, where: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new OtlpDecodeError(`${where}: expected a boolean, got ${describe(value)}`);
  return value;
}

/** uint32 / fixed32. Proto3 JSON allows numbers and decimal strings. */
export function readUint32(value: unknown, where: string): number {
  const n = readInteger(value, where);
  if (n < 0n || n > 0xffffffffn) throw new OtlpDecodeError(`${where}: ${n} is not a uint32`);
  return Number(n);
}

/** uint64 / fixed64 (timestamps). */
export function readUint64(value: unknown, where: string): bigint {
  const n = readInteger(value, where);
  if (n < 0n || n > 0xffffffffffffffffn) throw new OtlpDecodeError(`${where}: ${n} is not a uint64`);
  return n;
}

/** int64 (AnyValue.int_value). */
export function readInt64(value: unknown, where: string): bigint {
  const n = readInteger(value, where);
  if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new OtlpDecodeError(`${where}: ${n} is not an int64`);
  return n;
}

function readInteger(value: unknown, where: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new OtlpDecodeError(`${where}: expected an integer, got ${describe(value)}`);
}

/** A double; OTLP/JSON may spell the non-finite ones as strings. */
export function readDouble(value: unknown, where: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw new OtlpDecodeError(`${where}: expected a number, got ${describe(value)}`);
}

/** An enum as its number; OTLP/JSON may send the value's name instead. */
export function readEnum(value: unknown, type: Enum, where: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') {
    const byName = type.values[value];
    if (byName !== undefined) return byName;
  }
  throw new OtlpDecodeError(`${where}: not a ${type.name} value: ${describe(value)}`);
}

/**
 * A trace or span id as lower-case hex ('' when absent or empty). Protobuf carries raw bytes,
 * OTLP/JSON carries hex (not base64, unlike the generic proto3 JSON mapping for bytes).
 */
export function readId(value: unknown, byteLength: number, encoding: OtlpEncoding, where: string): string {
  if (value === undefined || value === null) return '';
  let hex: string;
  if (encoding === 'protobuf' && value instanceof Uint8Array) {
    hex = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  } else if (encoding === 'json' && typeof value === 'string' && /^[0-9a-fA-F]*$/.test(value)) {
    hex = value.toLowerCase();
  } else {
    throw new OtlpDecodeError(`${where}: expected ${encoding === 'json' ? 'a hex string' : 'bytes'}, got ${describe(value)}`);
  }
  if (hex.length !== 0 && hex.length !== byteLength * 2) {
    throw new OtlpDecodeError(`${where}: expected ${byteLength} bytes, got ${hex.length / 2} (${hex})`);
  }
  return hex;
}

/** AnyValue.bytes_value: raw bytes in protobuf, base64 in OTLP/JSON. */
export function readBytes(value: unknown, encoding: OtlpEncoding, where: string): Uint8Array {
  if (value === undefined || value === null) return new Uint8Array();
  if (encoding === 'protobuf' && value instanceof Uint8Array) return new Uint8Array(value);
  if (encoding === 'json' && typeof value === 'string') return new Uint8Array(Buffer.from(value, 'base64'));
  throw new OtlpDecodeError(`${where}: expected ${encoding === 'json' ? 'base64' : 'bytes'}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'bigint') return `${value}n`;
  return typeof value === 'object' ? 'an object' : (JSON.stringify(value) ?? String(value));
}
