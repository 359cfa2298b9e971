/**
 * The `assistants-otel` command: dispatches to one file per command. `bin.ts` wires it to `process`.
 *
 * `COMMANDS` is also the registry of every flag each command accepts (the same objects the commands
 * hand to `parseArgs`): the README's configuration reference is checked against it.
 */
import type { ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config.js';
import { redactUrlsInText } from '../util/redact.js';
import { VERSION } from '../version.js';
import { UsageError } from './args.js';
import { DEMO_FLAGS, demoCommand } from './demo.js';
import { EXPORT_COMMAND_FLAGS, exportCommand } from './export.js';
import { IMPORT_FLAGS, importCommand } from './import.js';
import { EXIT_FAILURE, EXIT_USAGE, writeLine, type CliIo } from './io.js';
import { RUN_FLAGS, runsCommand } from './runs.js';
import { SIMULATE_FLAGS, simulateCommand } from './simulate.js';
import { STEP_FLAGS, stepsCommand } from './steps.js';
import { WATCH_FLAGS, watchCommand } from './watch.js';

type Command = (argv: string[], io: CliIo) => Promise<number>;
export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandEntry {
  run: Command;
  summary: string;
  /** Every flag the command accepts. */
  flags: FlagSpec;
}

export const COMMANDS: Record<string, CommandEntry> = {
  demo: { run: demoCommand, summary: 'the sidecar against a built-in simulated API, printing the traces (npm start)', flags: DEMO_FLAGS },
  watch: { run: watchCommand, summary: 'the sidecar: watch threads and runs, export each finished run as a trace', flags: WATCH_FLAGS },
  export: { run: exportCommand, summary: 'one-shot backfill: a run or threads\' history from the API, as traces', flags: EXPORT_COMMAND_FLAGS },
  import: { run: importCommand, summary: 'export saved run and run-step records (JSON, JSONL or SSE captures) as traces', flags: IMPORT_FLAGS },
  runs: { run: runsCommand, summary: 'list or show a thread\'s runs (table, JSON or JSONL)', flags: RUN_FLAGS },
  steps: { run: stepsCommand, summary: 'list or show run steps (table, JSON or JSONL)', flags: STEP_FLAGS },
  simulate: { run: simulateCommand, summary: 'serve the Assistants protocol on loopback, playing a scripted scenario', flags: SIMULATE_FLAGS },
};

/** Flags of `assistants-otel` itself, before any command. */
export const GLOBAL_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies FlagSpec;

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return (
    `Usage: assistants-otel <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n` +
    'Options:\n  -h, --help     show this help\n  -v, --version  print the version\n\n' +
    'Run "assistants-otel <command> --help" for a command\'s options.\n'
  );
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-v') {
    writeLine(io.stdout, VERSION);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    writeLine(io.stderr, `assistants-otel: unknown command "${name}".`);
    io.stderr.write(usage());
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      writeLine(io.stderr, `assistants-otel ${redactUrlsInText(error.message)}`);
      return EXIT_USAGE;
    }
    // Whatever an error says, a URL's credentials are not repeated (a state URL, an API base URL).
    writeLine(io.stderr, `assistants-otel ${name}: ${redactUrlsInText((error as Error).message)}`);
    return EXIT_FAILURE;
  }
}
