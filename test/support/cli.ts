// Runs the built CLI (node dist/cli/bin.js, the package's bin) as a real child process, with a clean environment,
// so end-to-end tests exercise exactly what a user runs and cannot leak OTEL_* / OPENAI_*
// settings from the developer's shell into a test.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The built executable, as `npm install -g` would run it: package.json's `bin` entry
 * (dist/cli/bin.js today; dist/cli/main.js only exports main()). Read from the manifest so the
 * tests follow any rename.
 */
export const CLI_SCRIPT = path.join(REPO_ROOT, binEntry('assistants-otel'));

const DEFAULT_RUN_TIMEOUT_MS = 20_000; // below vitest's 30 s, so our message (with output) wins
const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
const INHERITED_VARIABLES = ['PATH', 'HOME'] as const;

export interface CliOptions {
  /** Added to PATH and HOME; a value of undefined removes that variable. */
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin, which is then closed. */
  stdin?: string | Uint8Array;
  /** runCli only: kill the child (SIGKILL) and reject after this long. Default 20 s. */
  timeoutMs?: number;
  /** Default: the repository root. */
  cwd?: string;
  /** Run this script instead of the CLI (used by the helper's own tests). */
  script?: string;
}

export interface StartCliOptions extends Omit<CliOptions, 'timeoutMs'> {
  /** Keep stdin open for the test to write to `child.stdin`. Default: closed at once (EOF). */
  keepStdinOpen?: boolean;
}

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliResult extends CliExit {
  stdout: string;
  stderr: string;
  durationMs: number;
}

export type OutputStream = 'stdout' | 'stderr' | 'any';

export interface OutputMatch {
  /** The text of the watched stream(s) when the match happened. */
  text: string;
  /** The regular expression's match (with capture groups); undefined for a predicate. */
  match: RegExpMatchArray | undefined;
}

export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved in the order the chunks arrived. */
  output(): string;
  waitForOutput(
    matcher: RegExp | ((text: string) => boolean),
    options?: { stream?: OutputStream; timeoutMs?: number },
  ): Promise<OutputMatch>;
  /** Sends the signal (default SIGTERM) unless the child already exited; resolves on exit. */
  kill(signal?: NodeJS.Signals): Promise<CliExit>;
  /** Resolves when the child exited and its output streams closed; never rejects. */
  readonly exited: Promise<CliExit>;
}

export class CliTimeoutError extends Error {
  override readonly name = 'CliTimeoutError';
}

const startedChildren = new Set<ChildProcessWithoutNullStreams>();

/** The child's whole environment: PATH and HOME from this process, plus `extra`. */
export function cliEnvironment(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs the CLI to completion and returns its exit status and output. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const started = performance.now();
  const running = startCli(args, options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timed-out'>((resolve) => {
    timer = setTimeout(() => resolve('timed-out'), timeoutMs);
  });
  const first = await Promise.race([running.exited, timedOut]);
  clearTimeout(timer);
  if (first === 'timed-out') {
    await running.kill('SIGKILL');
    throw new CliTimeoutError(
      `CLI did not exit within ${timeoutMs} ms: ${describeCommand(args)}\n${outputTail(running)}`,
    );
  }
  return { ...first, stdout: running.stdout(), stderr: running.stderr(), durationMs: performance.now() - started };
}

/** Starts the CLI and returns at once; for long-running commands such as `watch`. */
export function startCli(args: readonly string[], options: StartCliOptions = {}): RunningCli {
  const child = spawn(process.execPath, [options.script ?? CLI_SCRIPT, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cliEnvironment(options.env),
    stdio: 'pipe',
  });
  startedChildren.add(child);

  const text = { stdout: '', stderr: '', any: '' };
  const changed = new Set<() => void>();
  const collect = (stream: 'stdout' | 'stderr') => {
    const decoder = new StringDecoder('utf8'); // never split a multi-byte character across chunks
    const append = (piece: string): void => {
      text[stream] += piece;
      text.any += piece;
      for (const notify of changed) notify();
    };
    child[stream].on('data', (chunk: Buffer) => append(decoder.write(chunk)));
    child[stream].on('end', () => append(decoder.end()));
  };
  collect('stdout');
  collect('stderr');

  const exited = new Promise<CliExit>((resolve) => {
    child.on('error', (error) => {
      text.stderr += `\n[cli helper] could not run the child: ${error.message}\n`;
      startedChildren.delete(child);
      resolve({ code: null, signal: null });
    });
    child.on('close', (code, signal) => {
      startedChildren.delete(child);
      for (const notify of changed) notify();
      resolve({ code, signal });
    });
  });
  if (options.stdin !== undefined) child.stdin.end(options.stdin);
  else if (options.keepStdinOpen !== true) child.stdin.end();
  child.stdin.on('error', () => {}); // EPIPE when the child exits without reading stdin is fine

  const running: RunningCli = {
    child,
    pid: child.pid ?? -1,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    output: () => text.any,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited,
    waitForOutput(matcher, { stream = 'any', timeoutMs = DEFAULT_WAIT_TIMEOUT_MS } = {}) {
      return new Promise<OutputMatch>((resolve, reject) => {
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          changed.delete(check);
          settle();
        };
        const check = (): void => {
          const found = findMatch(text[stream], matcher);
          if (found !== undefined) finish(() => resolve(found));
        };
        const timer = setTimeout(() => {
          const why = `no ${stream} output matched ${String(matcher)} within ${timeoutMs} ms`;
          finish(() => reject(new Error(`${why}\n${outputTail(running)}`)));
        }, timeoutMs);
        changed.add(check);
        check();
        // 'close' runs every check on the final output before `exited` resolves, so a check still
        // registered here has seen all the output there will ever be.
        void exited.then((exit) => {
          if (!changed.has(check)) return;
          const why = `CLI exited (${describeExit(exit)}) before ${stream} matched ${String(matcher)}`;
          finish(() => reject(new Error(`${why}\n${outputTail(running)}`)));
        });
      });
    },
  };
  return running;
}

/** SIGKILLs every CLI child still running and waits for them; call it in afterEach. */
export async function killAllStartedClis(): Promise<void> {
  const children = [...startedChildren];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  startedChildren.clear();
}

function binEntry(command: string): string {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin?: unknown };
  const bin = manifest.bin;
  const entry = typeof bin === 'object' && bin !== null ? (bin as Record<string, unknown>)[command] : undefined;
  if (typeof entry !== 'string') throw new Error(`package.json has no "bin" entry for ${command}`);
  return entry;
}

function describeCommand(args: readonly string[]): string {
  return ['assistants-otel', ...args].map((a) => (/^[\w./:=-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function describeExit(exit: CliExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

function findMatch(text: string, matcher: RegExp | ((text: string) => boolean)): OutputMatch | undefined {
  if (matcher instanceof RegExp) {
    const match = text.match(matcher);
    return match === null ? undefined : { text, match };
  }
  return matcher(text) ? { text, match: undefined } : undefined;
}

function outputTail(running: RunningCli, maxChars = 2_000): string {
  const tail = (s: string): string => (s.length > maxChars ? `…${s.slice(-maxChars)}` : s);
  return `--- stdout ---\n${tail(running.stdout())}\n--- stderr ---\n${tail(running.stderr())}`;
}
