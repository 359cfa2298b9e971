/**
 * The file-system calls the file store makes, as a seam: tests count them (group commit) or make
 * them fail, and the crash test kills its process at an exact step of a compaction.
 */
import * as fsp from 'node:fs/promises';

export type StateFileSystem = Pick<typeof fsp, 'mkdir' | 'open' | 'readFile' | 'writeFile' | 'rename' | 'rm' | 'stat' | 'utimes'>;

export type FileHandle = fsp.FileHandle;

export const nodeFileSystem: StateFileSystem = fsp;

export function errorCode(error: unknown): string | undefined {
  const code: unknown = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
