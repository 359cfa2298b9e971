/**
 * Flag parsing on `node:util`'s `parseArgs`, with errors that name the flag and a pointer to --help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { API_OBJECT_ID } from '../api/object-id.js';

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
    // `--poll-interval -1s`: parseArgs takes the value for another option. Say what it was and how to write it.
    const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec((error as Error).message);
    if (ambiguous) {
      const flag = (ambiguous[1] as string).split(' ')[0] as string;
      const at = argv.findIndex((arg) => arg === flag || arg === `-${flag.replace(/^--/, '').slice(0, 1)}`);
      const value = at >= 0 ? argv[at + 1] : undefined;
      throw new UsageError(`${flag}: got "${value ?? ''}", which starts with "-": write ${flag}=${value ?? '-…'} if that is the value meant (or give the value ${flag} is missing). Run "assistants-otel ${command} --help" for usage.`);
    }
    const message = (error as Error).message
      .replace(/^Unknown option '([^']+)'.*$/s, "unknown option '$1'")
      .replace(/^Unexpected argument '([^']+)'.*$/s, "unexpected argument '$1'");
    throw new UsageError(`${command}: ${message}. Run "assistants-otel ${command} --help" for usage.`);
  }
}


/** `value` as an API object id, or a usage error naming `where` (a flag, or file:line). */
export function apiId(value: string, where: string): string {
  if (!API_OBJECT_ID.test(value)) throw new UsageError(`${where}: "${value}" is not an API object id (letters, digits, _ . : -, starting with a letter or digit)`);
  return value;
}

/** A flag that takes a positive whole number. */
export function parsePositiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: expected a whole number ≥ 1, got "${value}"`);
  return n;
}
