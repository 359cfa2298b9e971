/**
 * `assistants-otel simulate`: the protocol simulator as a standalone server, for trying the query
 * commands and the sidecar by hand, and for examples. Runs until SIGTERM/SIGINT.
 */
import { createSimulator, loadScenario, builtInScenarios, ScenarioError, type AuthMode } from '../simulator/index.js';
import { parseFlags, parsePositiveInt, UsageError } from './args.js';
import { EXIT_OK, writeLine, type CliIo } from './io.js';

export const SIMULATE_HELP = `Usage: assistants-otel simulate [options]

Serves the Assistants protocol (runs, run steps, run creation, streaming) on loopback, playing a
scripted scenario in real time.

Options:
  --port P                   port (default 0: any free port; the URL is printed)
  --host H                   interface (default 127.0.0.1)
  --scenario NAME|FILE       ${builtInScenarios.join(', ')} (many-threads:NxM), or a JSON file (default demo)
  --speed N                  scenario seconds per real second (default 1)
  --prefix PATH              path before /threads: "" (default), /v1, /openai, /api/projects/NAME
  --require-key              require "Authorization: Bearer $SIMULATOR_API_KEY" (the variable must be set)
  --api-version V            require ?api-version=V, as Azure does
  --log                      print one line per request
  -h, --help                 show this help

Point the other commands at it with OPENAI_BASE_URL=<printed URL>.

Exit status: 0 when stopped (Ctrl-C or SIGTERM); 2 on a usage error, a scenario that does not
load (its file and field named), or an address it cannot listen on (the port in use).
`;

export const SIMULATE_FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  scenario: { type: 'string' },
  speed: { type: 'string' },
  prefix: { type: 'string' },
  'require-key': { type: 'boolean' },
  'api-version': { type: 'string' },
  log: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function simulateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('simulate', argv, SIMULATE_FLAGS);
  if (values.help) {
    io.stdout.write(SIMULATE_HELP);
    return EXIT_OK;
  }
  const port = values.port === undefined || values.port === '0' ? 0 : parsePositiveInt(values.port, '--port');
  const speed = Number(values.speed ?? '1');
  if (!(speed > 0)) throw new UsageError(`--speed: expected a positive number, got "${values.speed}"`);
  let auth: AuthMode = 'none';
  if (values['require-key']) {
    const key = io.env['SIMULATOR_API_KEY'];
    if (!key) throw new UsageError('--require-key: set SIMULATOR_API_KEY to the key clients must present');
    auth = { kind: 'bearer', token: key };
  }
  let scenario;
  try {
    scenario = loadScenario(values.scenario ?? 'demo');
  } catch (error) {
    // A scenario that does not load is a usage error (exit 2); the message names the file and field.
    if (error instanceof ScenarioError) throw new UsageError(`--scenario: ${error.message}`);
    throw error;
  }
  const sim = await createSimulator({
    port: port ?? 0,
    host: values.host ?? '127.0.0.1',
    prefix: values.prefix ?? '',
    clock: 'real',
    timeScaleMillisPerSecond: 1000 / speed,
    // --speed > 1 never stamps a record in the future (src/simulator/README.md).
    neverAhead: true,
    scenario,
    auth,
    ...(values['api-version'] ? { apiVersion: values['api-version'] } : {}),
    ...(values.log ? { log: (line: string) => writeLine(io.stderr, line) } : {}),
  }).catch((error: unknown) => {
    // A start-up failure is exit 2 too (README "Exit status"), naming the flag.
    if (error instanceof ScenarioError) throw new UsageError(`--scenario ${values.scenario ?? 'demo'}: ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError(`--port/--host: cannot listen on ${values.host ?? '127.0.0.1'}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'not permitted' : 'no such address on this host'}`);
    }
    throw error;
  });
  writeLine(io.stdout, `simulator listening at ${sim.url}`);
  writeLine(io.stdout, `threads: ${sim.state.threads.map((t) => t.id).join(' ')}`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await sim.close();
  return EXIT_OK;
}
