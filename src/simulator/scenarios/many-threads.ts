import type { ScenarioInput, ScenarioRunInput } from '../scenario-schema.js';
import type { RunTemplateName } from './templates.js';

export interface ManyThreadsOptions {
  /** Number of threads. Default 10. */
  threads?: number;
  /** Runs per thread, one after another. Default 10. */
  runsPerThread?: number;
  /** Scenario seconds between the starts of a thread's runs. Default 20 (every template ends within it). */
  spacingSeconds?: number;
  /** True: every run lies in the past (negative `startAt`), so all are terminal at second 0. Default false. */
  history?: boolean;
}

// Mostly successful work, with the failure modes in realistic proportions.
const MIX: RunTemplateName[] = ['every-tool', 'message', 'function-script', 'message', 'every-tool', 'failed', 'message', 'incomplete', 'function-script', 'cancelled'];

/** N threads × M runs for benchmarks; `many-threads:NxM` selects it by name. */
export function manyThreadsScenario(options: ManyThreadsOptions = {}): ScenarioInput {
  const threads = options.threads ?? 10;
  const runsPerThread = options.runsPerThread ?? 10;
  const spacing = options.spacingSeconds ?? 20;
  const offset = options.history === true ? -(runsPerThread * spacing + 60) : 0;
  return {
    name: `many-threads:${threads}x${runsPerThread}`,
    threads: Array.from({ length: threads }, (_, t) => ({
      metadata: { shard: String(t % 8) },
      runs: Array.from({ length: runsPerThread }, (_, r): ScenarioRunInput => ({
        startAt: offset + r * spacing + (t % spacing),
        template: MIX[(t + r) % MIX.length] ?? 'message',
      })),
    })),
  };
}
