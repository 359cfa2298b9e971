/**
 * Flag parsing on `node:util`'s `parseArgs`, with errors that name the flag and a pointer to --help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: boolean; allowNegative: true }>>;

/** The user asked for something the command line cannot mean. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends Options>(command: string, argv: string[], options: T, allowPositionals = false): Parsed<T> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals, allowNegative: true });
  } catch (error) {
    const message = (error as Error).message
      .replace(/^Unknown option '([^']+)'.*$/s, "unknown option '$1'")
      .replace(/^Unexpected argument '([^']+)'.*$/s, "unexpected argument '$1'");
    throw new UsageError(`${command}: ${message}. Run "assistants-otel ${command} --help" for usage.`);
  }
}

/** A flag that takes a positive whole number. */
export function parsePositiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: expected a whole number ≥ 1, got "${value}"`);
  return n;
}
