// What the CLI accepts, read from the code (never from a list kept in a test): the flags of each
// command from the registry in src/cli/main.ts (the very objects handed to parseArgs), and the
// environment variables by scanning the sources allowed to read the environment.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { COMMANDS, GLOBAL_FLAGS, type FlagSpec } from '../../src/cli/main.js';
import { REPO_ROOT } from './cli.js';

/** `--name` and `-x` for every flag of a spec. */
export function flagTokens(spec: FlagSpec): string[] {
  return Object.entries(spec).flatMap(([name, option]) => [`--${name}`, ...(option.short ? [`-${option.short}`] : [])]);
}

/** command → flag tokens; `global` for the flags of `assistants-otel` itself. */
export function cliFlags(): Map<string, Set<string>> {
  const flags = new Map<string, Set<string>>([['global', new Set(flagTokens(GLOBAL_FLAGS))]]);
  for (const [name, command] of Object.entries(COMMANDS)) flags.set(name, new Set(flagTokens(command.flags)));
  return flags;
}

export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Source without comments, so a variable named in a comment does not count as read. */
export function codeOf(path: string): string {
  return readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

export const CONFIG_SOURCE = join(REPO_ROOT, 'src/config.ts');
/** The configuration module and its parts under src/config/. */
export const CONFIG_SOURCES = [CONFIG_SOURCE, ...sourceFiles(join(REPO_ROOT, 'src/config'))];
/** The files allowed to read the environment: the configuration modules and the commands. */
export const ENV_READERS = [...CONFIG_SOURCES, ...sourceFiles(join(REPO_ROOT, 'src/cli'))];

/**
 * Variables the code reads (name → the file that reads it): `env['NAME']` in the files allowed to
 * read the environment, and every quoted UPPER_CASE_NAME in src/config.ts (it passes names around:
 * `firstSet(env, 'A', 'B')`, error sources).
 */
export function cliVariables(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of ENV_READERS) {
    const text = codeOf(file);
    for (const m of text.matchAll(/\benv\s*\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]|\benv\.([A-Z][A-Z0-9_]*)\b/g)) found.set((m[1] ?? m[2]) as string, relative(REPO_ROOT, file));
    if (!CONFIG_SOURCES.includes(file)) continue;
    for (const m of text.replace(/\btraces\([^)]*\)/g, '').matchAll(/['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"]/g)) found.set(m[1] as string, relative(REPO_ROOT, file));
    // `traces('CERTIFICATE')` names both forms of an OTLP variable (config/otlp.ts).
    for (const m of text.matchAll(/\btraces\(\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\)/g)) {
      found.set(`OTEL_EXPORTER_OTLP_TRACES_${m[1] as string}`, relative(REPO_ROOT, file));
      found.set(`OTEL_EXPORTER_OTLP_${m[1] as string}`, relative(REPO_ROOT, file));
    }
  }
  return found;
}
