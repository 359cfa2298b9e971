/**
 * The file-system calls the file store makes, as a seam: tests count them (group commit) or make
 * them fail, and the crash test kills its process at an exact step of a compaction.
 */
import * as fsp from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export type StateFileSystem = Pick<typeof fsp, 'mkdir' | 'open' | 'readFile' | 'writeFile' | 'rename' | 'rm' | 'stat' | 'utimes'>;

export type FileHandle = fsp.FileHandle;

export const nodeFileSystem: StateFileSystem = fsp;

export function errorCode(error: unknown): string | undefined {
  const code: unknown = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * `mkdir -p`, written out: Node's recursive mkdir spins forever on some pseudo file systems (a
 * path under /proc kept a process at 75% CPU), so this walks up to the first directory that
 * exists and creates the missing ones below it, one by one, failing with the real error.
 */
export async function ensureDirectory(fs: Pick<StateFileSystem, 'stat' | 'mkdir'>, dir: string): Promise<void> {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    let isDirectory: boolean;
    try {
      isDirectory = (await fs.stat(current)).isDirectory();
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      const parent = dirname(current);
      if (parent === current) throw error;
      missing.push(current);
      current = parent;
      continue;
    }
    if (!isDirectory) throw Object.assign(new Error(`ENOTDIR: not a directory, ${current}`), { code: 'ENOTDIR', path: current });
    break;
  }
  for (const directory of missing.reverse()) {
    try {
      await fs.mkdir(directory);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error; // created meanwhile by someone else: fine
    }
  }
}
