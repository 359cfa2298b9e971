// The few internals whose bugs would hide behind the end-to-end tests: ordering and ID shape.
import { describe, expect, it } from 'vitest';
import { WakeUpHeap } from '../../src/simulator/heap.js';
import { createIdFactory, toBase62 } from '../../src/simulator/ids.js';
import { applyPatch } from '../../src/simulator/patch.js';

describe('simulator internals', () => {
  it('the heap pops in (time, tie) order', () => {
    const heap = new WakeUpHeap();
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const pushed = Array.from({ length: 500 }, (_, i) => ({ time: Math.floor(random() * 50), tie: i, runId: `r${i}`, version: 0 }));
    pushed.forEach((e) => heap.push(e));
    const popped = [];
    for (let e = heap.pop(); e !== undefined; e = heap.pop()) popped.push(e);
    expect(popped).toEqual([...pushed].sort((a, b) => a.time - b.time || a.tie - b.tie));
  });

  it('IDs look like the provider’s, sort in creation order, and depend on the seed', () => {
    const a = createIdFactory('s1');
    const ids = Array.from({ length: 100 }, () => a.next('step_'));
    expect(ids.every((id) => /^step_[0-9A-Za-z]{24}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(createIdFactory('s1').next('step_')).toBe(ids[0]);
    expect(createIdFactory('s2').next('step_')).not.toBe(ids[0]);
    expect(a.nextRequestId()).toMatch(/^req_[0-9a-f]{32}$/);
    expect(toBase62(62, 3)).toBe('010');
  });

  it('patches set and omit dotted paths on a copy', () => {
    const record = { a: { list: [{ name: 'x' }] }, keep: 1 };
    const patched = applyPatch(record, { set: { 'a.list.0.name': 42, extra: true }, omit: ['keep'] });
    expect(patched).toEqual({ a: { list: [{ name: 42 }] }, extra: true });
    expect(record).toEqual({ a: { list: [{ name: 'x' }] }, keep: 1 });
    expect(applyPatch(record, { replaceWith: 'not an object' })).toBe('not an object');
  });
});
