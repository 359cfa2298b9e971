import type { ScenarioInput } from '../scenario-schema.js';

/**
 * Compact coverage for tests: every step and tool call type (every-tool run) and every terminal
 * status, plus one run left in `requires_action` for a client to answer. `runUntilIdle()` plays
 * everything else to its end by scenario second 90.
 */
export const everyTypeScenario: ScenarioInput = {
  name: 'every-type',
  threads: [
    {
      id: 'thread_everytype_a',
      runs: [
        { id: 'run_everytool', startAt: 0, template: 'every-tool' },
        { id: 'run_failed', startAt: 20, template: 'failed' },
        { id: 'run_incomplete', startAt: 30, template: 'incomplete' },
      ],
    },
    {
      id: 'thread_everytype_b',
      runs: [
        { id: 'run_cancelled', startAt: 0, template: 'cancelled' },
        { id: 'run_expired', startAt: 10, template: 'expired' },
        { id: 'run_waiting', startAt: 50, template: 'function-client' },
      ],
    },
  ],
};
