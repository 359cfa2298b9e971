// OTLP KeyValue lists and AnyValue -> plain attribute values (see AttrValue for the mapping).
import {
  OtlpDecodeError,
  readArray,
  readBool,
  readBytes,
  readDouble,
  readInt64,
  readObject,
  readString,
} from './otlp-fields.js';
import type { AttrValue, Attributes, OtlpEncoding } from './otlp-types.js';

export function readAttributes(value: unknown, encoding: OtlpEncoding, where: string): Attributes {
  const entries = readArray(value, where).map((item, i): [string, AttrValue] => {
    const keyValue = readObject(item, `${where}[${i}]`);
    const key = readString(keyValue['key'], `${where}[${i}].key`);
    return [key, readAnyValue(keyValue['value'], encoding, `${where}[${key}]`)];
  });
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary key.
  // Duplicate keys are invalid OTLP; the last one wins here, as in most backends.
  return Object.fromEntries(entries);
}

export function readAnyValue(value: unknown, encoding: OtlpEncoding, where: string): AttrValue {
  const any = readObject(value, where);
  const present = Object.keys(any).filter((k) => any[k] !== undefined && any[k] !== null);
  if (present.length > 1) throw new OtlpDecodeError(`${where}: AnyValue sets more than one of ${present.join(', ')}`);
  const [kind] = present;
  switch (kind) {
    case undefined:
      return null;
    case 'stringValue':
      return readString(any[kind], where);
    case 'boolValue':
      return readBool(any[kind], where);
    case 'intValue':
      return toSafeNumber(readInt64(any[kind], where));
    case 'doubleValue':
      return readDouble(any[kind], where);
    case 'bytesValue':
      return readBytes(any[kind], encoding, where);
    case 'arrayValue':
      return readArray(readObject(any[kind], where)['values'], `${where}.arrayValue`).map((item, i) =>
        readAnyValue(item, encoding, `${where}[${i}]`),
      );
    case 'kvlistValue':
      return readAttributes(readObject(any[kind], where)['values'], encoding, `${where}.kvlistValue`);
    default:
      throw new OtlpDecodeError(`${where}: unknown AnyValue field "${kind}"`);
  }
}

/** Safe integers as number (what tests compare against); anything larger keeps full precision. */
export function toSafeNumber(value: bigint): number | bigint {
  const fits = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
  return fits ? Number(value) : value;
}
