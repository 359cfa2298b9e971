/**
 * `--threads-file FILE` (or `-` for standard input): one thread id per line; `#` starts a comment.
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ConfigError } from '../config.js';
import { API_OBJECT_ID } from '../api/object-id.js';

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function readThreadsFile(path: string, stdin: Readable): Promise<string[]> {
  const name = path === '-' ? 'stdin' : path;
  let text: string;
  try {
    text = path === '-' ? await readAll(stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError('--threads-file', `cannot read ${name}: ${(error as Error).message}`);
  }
  const ids: string[] = [];
  text.split('\n').forEach((line, index) => {
    const id = line.replace(/#.*/, '').trim();
    if (id === '') return;
    if (/\s/.test(id)) throw new ConfigError('--threads-file', `${name}:${index + 1}: expected one thread id, got "${id}"`);
    if (!API_OBJECT_ID.test(id)) throw new ConfigError('--threads-file', `${name}:${index + 1}: "${id}" is not a thread id (letters, digits, _ . : -)`);
    ids.push(id);
  });
  return ids;
}
