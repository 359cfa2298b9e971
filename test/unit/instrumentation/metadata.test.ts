/**
 * What the library adds to a created run's metadata (src/instrumentation/metadata.ts): never a key
 * the user set, never past 16 keys, the mark before the traceparent when only one fits.
 */
import { describe, expect, it } from 'vitest';
import { planMetadata } from '../../../src/instrumentation/metadata.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

describe('planMetadata', () => {
  it('adds the mark and the traceparent after the user’s keys, as a new object', () => {
    const user = { user: 'u-1' };
    const plan = planMetadata(user, { traceparent: TP, mark: true });
    expect(plan).toEqual({ metadata: { user: 'u-1', assistants_otel: 'library', traceparent: TP }, wroteTraceparent: true, marked: true, skipped: [] });
    expect(user).toEqual({ user: 'u-1' });
  });

  it('starts from nothing when the user gave no metadata (undefined or null)', () => {
    expect(planMetadata(undefined, { traceparent: TP, mark: true }).metadata).toEqual({ assistants_otel: 'library', traceparent: TP });
    expect(planMetadata(null, { mark: true }).metadata).toEqual({ assistants_otel: 'library' });
  });

  it('never overwrites a key the user set', () => {
    const plan = planMetadata({ traceparent: 'theirs', assistants_otel: 'mine' }, { traceparent: TP, mark: true });
    expect(plan).toEqual({ metadata: undefined, wroteTraceparent: false, marked: false, skipped: ['mark_set_by_user', 'traceparent_set_by_user'] });
  });

  it('respects the 16-key limit: 15 user keys leave room for the mark only, 16 for nothing', () => {
    expect(planMetadata(keys(14), { traceparent: TP, mark: true }).metadata).toEqual({ ...keys(14), assistants_otel: 'library', traceparent: TP });
    const fifteen = planMetadata(keys(15), { traceparent: TP, mark: true });
    expect(fifteen.metadata).toEqual({ ...keys(15), assistants_otel: 'library' });
    expect(fifteen.skipped).toEqual(['no_room_for_traceparent']);
    const sixteen = planMetadata(keys(16), { traceparent: TP, mark: true });
    expect(sixteen).toEqual({ metadata: undefined, wroteTraceparent: false, marked: false, skipped: ['no_room_for_mark', 'no_room_for_traceparent'] });
  });

  it('writes only what is wished: no span active means no traceparent; the mark can be turned off', () => {
    expect(planMetadata({}, { mark: true }).metadata).toEqual({ assistants_otel: 'library' });
    expect(planMetadata({}, { traceparent: TP, mark: false }).metadata).toEqual({ traceparent: TP });
    expect(planMetadata({ a: 'b' }, { mark: false }).metadata).toBeUndefined();
  });

  it('leaves metadata that is not an object to the API to refuse', () => {
    expect(planMetadata('oops', { traceparent: TP, mark: true })).toEqual({ metadata: undefined, wroteTraceparent: false, marked: false, skipped: ['metadata_not_an_object'] });
    expect(planMetadata(['a'], { mark: true }).skipped).toEqual(['metadata_not_an_object']);
  });
});
