import { describe, expect, it } from 'vitest';
import { createMemoryStateStore } from '../../../src/state/memory-store.js';
import type { StateSnapshot } from '../../../src/state/store.js';
import { describeStateStoreContract } from './store-contract.js';

describeStateStoreContract('memory store', () => createMemoryStateStore());

describe('memory store', () => {
  const initial: StateSnapshot = {
    threads: [{ threadId: 'thread_a', since: 0, lastActivityAt: 1 }],
    runs: [{ threadId: 'thread_a', runId: 'run_1', exportedStepIds: ['step_1'] }],
    done: { run_0: 5 },
    setAsideSpans: 2,
  };

  it('starts from a copy of the initial snapshot', async () => {
    const given = structuredClone(initial);
    const store = createMemoryStateStore(given);
    given.runs[0]?.exportedStepIds.push('changed');
    expect(await store.load()).toEqual(initial);
    await store.addSetAside(1);
    expect((await store.load()).setAsideSpans).toBe(3);
  });

  it('refuses a malformed initial snapshot', () => {
    expect(() => createMemoryStateStore({ ...initial, setAsideSpans: -1 })).toThrow(TypeError);
  });
});
