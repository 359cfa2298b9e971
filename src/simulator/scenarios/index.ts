import type { ScenarioInput } from '../scenario-schema.js';
import { demoScenario } from './demo.js';
import { everyTypeScenario } from './every-type.js';
import { longRunScenario } from './long-run.js';
import { malformedScenario } from './malformed.js';
import { manyThreadsScenario } from './many-threads.js';
import { unknownTypesScenario } from './unknown-types.js';

const FIXED: Record<string, ScenarioInput> = {
  demo: demoScenario,
  'every-type': everyTypeScenario,
  'long-run': longRunScenario,
  'unknown-types': unknownTypesScenario,
  malformed: malformedScenario,
};

/** Names `loadScenario` and `createSimulator({scenario})` accept; `many-threads` also takes `many-threads:NxM`. */
export const builtInScenarios = ['demo', 'every-type', 'long-run', 'unknown-types', 'many-threads', 'malformed'] as const;
export type BuiltInScenarioName = (typeof builtInScenarios)[number];

/** The scenario for a built-in name, or undefined if the name is not one. */
export function builtInScenario(name: string): ScenarioInput | undefined {
  const fixed = Object.hasOwn(FIXED, name) ? FIXED[name] : undefined;
  if (fixed !== undefined) return structuredClone(fixed);
  const many = /^many-threads(?::(\d+)x(\d+))?$/.exec(name);
  if (many === null) return undefined;
  return manyThreadsScenario(many[1] === undefined ? {} : { threads: Number(many[1]), runsPerThread: Number(many[2]) });
}
