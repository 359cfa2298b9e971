#!/usr/bin/env node
/**
 * The executable: the only place that touches `process` (argv, env, exit code, signals).
 * The first SIGTERM/SIGINT asks the running command to stop cleanly; a second one forces.
 */
import { EXIT_FAILURE } from './io.js';
import { main } from './main.js';
import { redactUrlsInText } from '../util/redact.js';

function installSignals(controller: AbortController): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      controller.abort();
      return;
    }
    // A second signal forces: the user has waited long enough for the drain.
    process.stderr.write(`assistants-otel: second ${signal}, exiting now\n`);
    process.exit(130);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

// `assistants-otel runs list | head`: the reader left; stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const controller = new AbortController();
installSignals(controller);
main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`assistants-otel: ${redactUrlsInText((error as Error).stack ?? String(error))}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
