/**
 * The packed package ships without `prepare` (README "Set-up"): `prepack` builds and strips it from
 * package.json, `postpack` restores the file byte for byte. Run here on a copy of the manifest.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copy(): { dir: string; run: (action: string) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'pack-manifest-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(REPO_ROOT, 'scripts', 'pack-manifest.mjs'), join(dir, 'scripts', 'pack-manifest.mjs'));
  copyFileSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  return { dir, run: (action) => execFileSync(process.execPath, [join(dir, 'scripts', 'pack-manifest.mjs'), action], { stdio: 'pipe' }) };
}

describe('scripts/pack-manifest.mjs', () => {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

  it('is wired: a clone builds on npm ci (prepare); npm pack builds, strips, and restores', () => {
    expect(manifest.scripts['prepare']).toBe('npm run build');
    expect(manifest.scripts['prepack']).toBe('npm run build && node scripts/pack-manifest.mjs strip');
    expect(manifest.scripts['postpack']).toBe('node scripts/pack-manifest.mjs restore');
  });

  it('strip removes prepare and nothing else; restore gives the file back byte for byte', () => {
    const { dir, run } = copy();
    const original = readFileSync(join(dir, 'package.json'), 'utf8');
    run('strip');
    const stripped = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const { prepare: _prepare, ...others } = manifest.scripts;
    expect(stripped.scripts).toEqual(others);
    expect({ ...stripped, scripts: manifest.scripts }).toEqual(manifest);
    run('restore');
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(original);
    expect(existsSync(join(dir, 'package.json.prepack'))).toBe(false);
  });

  it('a second strip before a restore refuses (it would lose the original)', () => {
    const { run } = copy();
    run('strip');
    expect(() => run('strip')).toThrow(/package\.json\.prepack exists/);
  });
});
