/**
 * Tests that run the built package (`dist/`) as a user would, with plain `node`: build it first when
 * `dist/` is missing or older than `src/` (as `npm test` does anyway).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/cli.js';

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(join(REPO_ROOT, 'dist', 'index.js')).mtimeMs;
  } catch {
    // not built yet
  }
  if (built >= newest(join(REPO_ROOT, 'src'))) return;
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
}

export interface NodeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args` from the repository root with a clean environment (PATH, HOME and `env`). */
export function runNode(args: readonly string[], env: Record<string, string> = {}, timeoutMillis = 25_000): Promise<NodeResult> {
  return new Promise((resolve) => {
    const clean: Record<string, string> = { ...env };
    for (const name of ['PATH', 'HOME']) if (process.env[name] !== undefined) clean[name] = process.env[name] as string;
    execFile(process.execPath, [...args], { cwd: REPO_ROOT, env: clean, timeout: timeoutMillis, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
