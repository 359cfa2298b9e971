/**
 * What a command may touch: its streams, its environment, and a signal that says "stop". Commands
 * receive these instead of reaching for `process`, so tests can run them in-process, and only
 * `main.ts` installs signal handlers.
 */
import type { Readable, Writable } from 'node:stream';
import type { Env } from '../config.js';

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: Env;
  /** Aborted on the first SIGTERM/SIGINT: `watch` drains and exits 0; one-shot commands stop and exit 130. */
  signal: AbortSignal;
}

/** Exit codes. */
export const EXIT_OK = 0;
/** Something failed at run time: records rejected, export failed, the API said no. */
export const EXIT_FAILURE = 1;
/** The command line or configuration is wrong; nothing was done. */
export const EXIT_USAGE = 2;
/** `export`: a failure stopped the work before the end (credentials refused, API or collector unreachable). */
export const EXIT_STOPPED = 3;
/** Interrupted (SIGINT/SIGTERM) before the work was done; what was done is printed. 128 + SIGINT, as shells report it. */
export const EXIT_INTERRUPTED = 130;

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}
