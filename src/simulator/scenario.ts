// Reading and validating scenarios: TypeScript objects, JSON files and built-in names.
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { builtInScenario, builtInScenarios } from './scenarios/index.js';
import { scenarioSchema, type Scenario, type ScenarioInput } from './scenario-schema.js';

/** A scenario that cannot be used; the message names the source and every field path at fault. */
export class ScenarioError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid scenario ${source}:\n  ${problems.join('\n  ')}`);
    this.name = 'ScenarioError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out === '' ? '(root)' : out;
}

/**
 * Zod reports a failed union as one issue holding every branch's issues. The useful branch is the
 * one whose discriminator (`type`, `kind`, `status`) matched, so report only that one.
 */
export function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const isDiscriminator = (i: z.core.$ZodIssue) => i.path.length === 1 && ['type', 'kind', 'status'].includes(String(i.path[0]));
      const branch = issue.errors.find((branchIssues) => !branchIssues.some(isDiscriminator));
      if (branch !== undefined) {
        lines.push(...flattenIssues(branch, path));
        continue;
      }
    }
    const detail = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    lines.push(`${formatPath(path)}: ${detail}`);
  }
  return lines;
}

/** Validates a scenario object (and applies defaults); throws a ScenarioError naming each bad field. */
export function parseScenario(input: unknown, source = 'object'): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) throw new ScenarioError(source, flattenIssues(result.error.issues, []));
  return result.data;
}

/**
 * A built-in scenario by name (`demo`, `many-threads:20x5`, …; see `builtInScenarios`) or a JSON
 * file by path. Errors name the file and the field path.
 */
export function loadScenario(nameOrPath: string): Scenario {
  const builtIn = builtInScenario(nameOrPath);
  if (builtIn !== undefined) return parseScenario(builtIn, `"${nameOrPath}"`);
  let text: string;
  try {
    text = readFileSync(nameOrPath, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ScenarioError(nameOrPath, [`not a built-in scenario (${builtInScenarios.join(', ')}) and not a readable file: ${reason}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(nameOrPath, [`not valid JSON: ${error instanceof Error ? error.message : String(error)}`]);
  }
  return parseScenario(json, nameOrPath);
}

/** A JSON Schema (2020-12) of the scenario file format, for editors (`"$schema"`). Refinements such as step ordering are checked only on load. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>; // a plain JSON object
}

/** Accepts what `createSimulator({scenario})` accepts: a name, a path, or an object (written or already parsed). */
export function resolveScenario(scenario: string | ScenarioInput | Scenario | undefined): Scenario {
  if (scenario === undefined) return parseScenario({}, 'empty');
  if (typeof scenario === 'string') return loadScenario(scenario);
  return parseScenario(scenario, scenario.name === undefined ? 'object' : `"${scenario.name}"`);
}
