/**
 * The `assistants-otel` command: dispatches to one file per command. `bin.ts` wires it to `process`.
 */
import { ConfigError } from '../config.js';
import { redactUrlsInText } from '../util/redact.js';
import { VERSION } from '../version.js';
import { UsageError } from './args.js';
import { demoCommand } from './demo.js';
import { importCommand } from './import.js';
import { EXIT_FAILURE, EXIT_USAGE, writeLine, type CliIo } from './io.js';
import { runsCommand } from './runs.js';
import { simulateCommand } from './simulate.js';
import { stepsCommand } from './steps.js';
import { watchCommand } from './watch.js';

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  demo: { run: demoCommand, summary: 'the sidecar against a built-in simulated API, printing the traces (npm start)' },
  import: { run: importCommand, summary: 'export saved run and run-step records (JSON/JSONL) as traces' },
  watch: { run: watchCommand, summary: 'the sidecar: watch threads and runs, export each finished run as a trace' },
  steps: { run: stepsCommand, summary: 'list or show run steps (table, JSON or JSONL)' },
  simulate: { run: simulateCommand, summary: 'serve the Assistants protocol on loopback, playing a scripted scenario' },
  runs: { run: runsCommand, summary: 'list or show a thread\'s runs (table, JSON or JSONL)' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: assistants-otel <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "assistants-otel <command> --help" for a command's options.\n`;
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
  const command = COMMANDS[name];
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
