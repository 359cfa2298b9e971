/**
 * The last step before a span leaves the mapper: every attribute value made something OTLP can
 * carry in both encodings. Strings are cut to `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, as an SDK would.
 * Numbers that OTLP cannot carry are dropped, with the quirk `number_out_of_range`: a value that is
 * not finite (JSON has no NaN, so OTLP/JSON would send `null`) or an integer beyond 2^53 (which the
 * OTLP/JSON serializer writes as `1e+300`, not an int64).
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { cutTo } from './content.js';

export const QUIRK_NUMBER_OUT_OF_RANGE = 'number_out_of_range';

function numberOk(value: unknown): boolean {
  if (typeof value !== 'number') return true;
  return Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value));
}

function allFit(attributes: Attributes): boolean {
  for (const key in attributes) {
    const value = attributes[key];
    if (typeof value === 'number' ? !numberOk(value) : Array.isArray(value) && !(value as unknown[]).every(numberOk)) return false;
  }
  return true;
}

const NO_QUIRKS: string[] = [];

/** `attributes` fit for OTLP (a copy when something had to change), and the quirks met on the way. */
export function sanitizeAttributes(attributes: Attributes, lengthLimit: number): { attributes: Attributes; quirks: string[] } {
  // The common case: nothing to cut, nothing to drop.
  if (!Number.isFinite(lengthLimit) && allFit(attributes)) return { attributes, quirks: NO_QUIRKS };
  const out: Attributes = {};
  const quirks: string[] = [];
  const cut = (v: unknown) => (typeof v === 'string' && Number.isFinite(lengthLimit) ? cutTo(v, lengthLimit) : v);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      const kept = (value as unknown[]).filter(numberOk);
      if (kept.length !== value.length) quirks.push(QUIRK_NUMBER_OUT_OF_RANGE);
      out[key] = kept.map(cut) as AttributeValue;
    } else if (!numberOk(value)) {
      quirks.push(QUIRK_NUMBER_OUT_OF_RANGE);
    } else {
      out[key] = cut(value) as AttributeValue;
    }
  }
  return { attributes: out, quirks };
}
