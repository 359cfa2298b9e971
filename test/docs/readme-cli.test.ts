/**
 * The README and the CLI agree. What the CLI accepts is read from the code, not from a list kept
 * here: flags from the command registry (`COMMANDS` in src/cli/main.ts: the very objects each
 * command hands to `parseArgs`), environment variables by scanning the sources that may read the
 * environment (src/config.ts, src/cli/). Both are compared with the README's "Configuration
 * reference", both ways, and every flag must also be in its command's `--help`.
 *
 * Adding a flag or a variable therefore needs one thing: its row in the README.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { COMMANDS, GLOBAL_FLAGS, main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../support/cli.js';
import { cliFlags, cliVariables, codeOf as code, ENV_READERS, flagTokens, sourceFiles as filesUnder } from '../support/cli-config.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

// ---- what the code accepts: test/support/cli-config.ts ------------------------------------------------

const codeFlags = cliFlags;
const codeVariables = cliVariables;

// ---- what the README documents ----------------------------------------------------------------------

/** The README's "Configuration reference" section. */
function referenceSection(): string {
  const start = README.indexOf('\n## Configuration reference');
  expect(start, 'the README has a "## Configuration reference" section').toBeGreaterThan(0);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end === -1 ? undefined : end);
}

/** Cells of each table row (header and separator rows skipped); `\|` stays inside its cell. */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) => line.slice(1, line.endsWith('|') ? -1 : undefined).split(/(?<!\\)\|/).map((cell) => cell.trim()))
    .filter((cells) => !['variable', 'flag'].includes(cells[0] ?? ''));
}

const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

/** `OTEL_[SPAN_]ATTRIBUTE…` → both spellings. */
function expandOptional(name: string): string[] {
  const match = /^(.*?)\[([A-Z0-9_]+)\](.*)$/.exec(name);
  if (!match) return [name];
  const [, before, optional, after] = match as unknown as [string, string, string, string];
  return [...expandOptional(before + after), ...expandOptional(before + optional + after)];
}

function readmeVariables(): Set<string> {
  const section = referenceSection();
  const table = section.slice(section.indexOf('### Environment variables'), section.indexOf('### Flags'));
  const names = new Set<string>();
  for (const [first] of tableRows(table)) {
    for (const span of codeSpans(first ?? '')) {
      const name = span.split('=')[0] as string;
      if (/^[A-Z][A-Z0-9_[\]]*$/.test(name)) for (const n of expandOptional(name)) names.add(n);
    }
  }
  return names;
}

/** command → flag tokens, from the Flags table's first two columns. */
function readmeFlags(): Map<string, Set<string>> {
  const section = referenceSection();
  const table = section.slice(section.indexOf('### Flags'));
  const flags = new Map<string, Set<string>>();
  for (const [first, commands] of tableRows(table)) {
    const tokens = codeSpans(first ?? '').map((span) => span.split(/\s/)[0] as string).filter((t) => t.startsWith('-'));
    expect(tokens.length, `a flag in the first cell of "${first}"`).toBeGreaterThan(0);
    for (const command of (commands ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '')) {
      const set = flags.get(command) ?? new Set<string>();
      for (const token of tokens) set.add(token);
      flags.set(command, set);
    }
  }
  return flags;
}

// ---- the comparison ---------------------------------------------------------------------------------

describe('README configuration reference ⇄ the CLI', () => {
  it('finds the flags and variables in the first place (the readers are not broken)', () => {
    expect(codeFlags().get('watch')?.has('--poll-interval')).toBe(true);
    expect(codeFlags().get('runs')?.has('-o')).toBe(true);
    expect(codeVariables().has('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')).toBe(true);
    expect(codeVariables().has('SIMULATOR_API_KEY')).toBe(true);
    expect(readmeVariables().has('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT')).toBe(true);
    expect(readmeFlags().get('export')?.has('--since')).toBe(true);
  });

  it('every flag each command accepts is in the README, for that command', () => {
    const documented = readmeFlags();
    const missing: string[] = [];
    for (const [command, tokens] of codeFlags()) {
      for (const token of tokens) if (!documented.get(command)?.has(token)) missing.push(`${command} ${token}`);
    }
    expect(missing, 'flags the CLI accepts but the README\'s Flags table does not list for that command').toEqual([]);
  });

  it('every flag the README lists is accepted by each command it names', () => {
    const accepted = codeFlags();
    const extra: string[] = [];
    for (const [command, tokens] of readmeFlags()) {
      const known = accepted.get(command);
      if (!known) {
        extra.push(`${command} (no such command)`);
        continue;
      }
      for (const token of tokens) if (!known.has(token)) extra.push(`${command} ${token}`);
    }
    expect(extra, 'flags the README lists that the command does not accept').toEqual([]);
  });

  it('--version and -h are listed', () => {
    expect(readmeFlags().get('global')).toEqual(new Set(['-h', '--help', '-v', '--version']));
    for (const command of Object.keys(COMMANDS)) expect(readmeFlags().get(command)?.has('-h'), command).toBe(true);
  });

  it('every environment variable the code reads is in the README, and the other way round', () => {
    const read = codeVariables();
    const documented = readmeVariables();
    expect([...read.keys()].filter((name) => !documented.has(name)).map((name) => `${name} (${read.get(name)})`), 'read by the code, missing from the README').toEqual([]);
    expect([...documented].filter((name) => !read.has(name)), 'in the README, read nowhere').toEqual([]);
  });

  it('only the executable touches process.env, so the scan above sees every variable', () => {
    const offenders = filesUnder(join(REPO_ROOT, 'src'))
      .filter((file) => !file.endsWith(join('cli', 'bin.ts')))
      .filter((file) => /process\.env\b/.test(code(file)))
      .map((file) => relative(REPO_ROOT, file));
    expect(offenders).toEqual([]);
    const readers = filesUnder(join(REPO_ROOT, 'src'))
      .filter((file) => !ENV_READERS.includes(file))
      .filter((file) => /\benv\s*\[\s*['"`][A-Z]/.test(code(file)))
      .map((file) => relative(REPO_ROOT, file));
    expect(readers, 'files reading variables outside src/config.ts, src/config/ and src/cli/').toEqual([]);
  });
});

describe('--help ⇄ the CLI', () => {
  async function help(args: string[]): Promise<string> {
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const code = await main(args, { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {}, signal: new AbortController().signal });
    expect(code).toBe(0);
    return text;
  }

  it.each(Object.keys(COMMANDS))('%s --help names every flag the command accepts', async (command) => {
    const text = await help([command, '--help']);
    const missing = flagTokens(COMMANDS[command]?.flags ?? {}).filter((token) => !new RegExp(`(^|[\\s,])${token}\\b`, 'm').test(text));
    expect(missing).toEqual([]);
  });

  it('assistants-otel --help names every command and the global flags', async () => {
    const text = await help(['--help']);
    for (const command of Object.keys(COMMANDS)) expect(text).toMatch(new RegExp(`^  ${command} `, 'm'));
    for (const token of flagTokens(GLOBAL_FLAGS)) expect(text).toContain(token);
  });

  it('the README\'s command table names every command', () => {
    const table = README.slice(README.indexOf('## Commands'), README.indexOf('### `watch`'));
    for (const command of Object.keys(COMMANDS)) expect(table).toMatch(new RegExp(`\`assistants-otel ${command}\\b`));
  });
});
