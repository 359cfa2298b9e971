import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { CLI_SCRIPT, CliTimeoutError, REPO_ROOT, cliEnvironment, killAllStartedClis, runCli, startCli } from './cli.js';

// dist/ is built by other work; the helper is proven against a fixture that behaves like a CLI.
const script = fileURLToPath(new URL('./fixtures/echo.mjs', import.meta.url));

afterEach(async () => {
  await killAllStartedClis();
});

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('runCli', () => {
  it("runs the package's bin entry, resolved from the repository root", () => {
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(manifest.bin['assistants-otel']).toMatch(/^dist\/cli\/.+\.js$/);
    expect(CLI_SCRIPT).toBe(path.join(REPO_ROOT, manifest.bin['assistants-otel'] ?? ''));
  });

  it('captures stdout, stderr and the exit code separately', async () => {
    const result = await runCli(['out', 'to stdout', 'err', 'to stderr', 'out', 'ünïcode ✓', 'exit', '3'], { script });
    expect(result).toMatchObject({
      code: 3,
      signal: null,
      stdout: 'to stdout\nünïcode ✓\n',
      stderr: 'to stderr\n',
    });
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('passes arguments through unchanged (spaces, quotes, empty strings)', async () => {
    const args = ['a b', '"quoted"', '', '--flag=$HOME'];
    const result = await runCli(['argv', ...args], { script });
    expect(JSON.parse(result.stdout)).toEqual(args);
  });

  it('feeds stdin and closes it', async () => {
    const input = 'line 1\nline 2 ✓\n';
    expect((await runCli(['cat'], { script, stdin: input })).stdout).toBe(input);
    expect((await runCli(['cat'], { script, stdin: Buffer.from('bytes') })).stdout).toBe('bytes');
    // Without stdin the child sees EOF at once instead of waiting forever.
    expect((await runCli(['cat', 'out', 'done'], { script })).stdout).toBe('done\n');
  });

  it('gives the child only PATH, HOME and the variables the test adds', async () => {
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://leaked.invalid:4318';
    process.env['OPENAI_API_KEY'] = 'sk-leaked';
    try {
      const result = await runCli(['env'], {
        script,
        env: { OTEL_SERVICE_NAME: 'under-test', HOME: undefined },
      });
      const env = JSON.parse(result.stdout) as Record<string, string>;
      // Node may add nothing of its own; anything beyond these would be a leak.
      expect(Object.keys(env).sort()).toEqual(['OTEL_SERVICE_NAME', 'PATH']);
      expect(env['OTEL_SERVICE_NAME']).toBe('under-test');
      expect(env['PATH']).toBe(process.env['PATH']);
    } finally {
      delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
      delete process.env['OPENAI_API_KEY'];
    }
  });

  it('builds the environment from PATH and HOME only', () => {
    expect(cliEnvironment({ EXTRA: '1' })).toEqual({
      ...(process.env['PATH'] === undefined ? {} : { PATH: process.env['PATH'] }),
      ...(process.env['HOME'] === undefined ? {} : { HOME: process.env['HOME'] }),
      EXTRA: '1',
    });
  });

  it('runs in the repository root unless told otherwise', async () => {
    expect((await runCli(['cwd'], { script })).stdout.trim()).toBe(REPO_ROOT.replace(/\/$/, ''));
    const tmp = os.tmpdir();
    expect((await runCli(['cwd'], { script, cwd: tmp })).stdout.trim()).toBe(tmp);
  });

  it('kills a CLI that outlives timeoutMs and reports its output', async () => {
    const started = performance.now();
    const error = await runCli(['out', 'started', 'sleep', '10000'], { script, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliTimeoutError);
    expect((error as Error).message).toMatch(/did not exit within 300 ms/);
    expect((error as Error).message).toContain('--- stdout ---\nstarted\n');
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('startCli', () => {
  it('waits for output, then stops the child with SIGTERM', async () => {
    const cli = startCli(['serve'], { script });
    expect(cli.pid).toBeGreaterThan(0);
    const ready = await cli.waitForOutput(/^(re)ady$/m, { stream: 'stdout', timeoutMs: 5_000 });
    expect(ready.match?.[1]).toBe('re');

    const exit = await cli.kill('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toBe('ready\nstopping\n');
    expect(await cli.exited).toBe(exit);
  });

  it('reports a signal death when the child does not handle the signal', async () => {
    const cli = startCli(['serve'], { script });
    await cli.waitForOutput((text) => text.includes('ready'));
    expect(await cli.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('waits on stderr or on either stream', async () => {
    const cli = startCli(['err', 'warming up', 'out', 'listening', 'serve'], { script });
    await expect(cli.waitForOutput(/warming/, { stream: 'stderr' })).resolves.toMatchObject({ text: 'warming up\n' });
    await expect(cli.waitForOutput(/listening/, { stream: 'stdout' })).resolves.toBeDefined();
    expect(cli.output()).toContain('warming up\n');
    expect(cli.output()).toContain('listening\n');
  });

  it('rejects waitForOutput on timeout with the output so far', async () => {
    const cli = startCli(['out', 'something else', 'serve'], { script });
    const error = await cli.waitForOutput(/never printed/, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no any output matched \/never printed\/ within 100 ms/);
    expect((error as Error).message).toContain('something else');
  });

  it('rejects waitForOutput at once when the child exits without a match', async () => {
    const cli = startCli(['out', 'bye', 'exit', '2'], { script });
    const started = performance.now();
    const error = await cli.waitForOutput(/never printed/, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/CLI exited \(code 2\) before any matched/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('still matches output printed just before the child exits', async () => {
    const cli = startCli(['out', 'last words', 'exit', '0'], { script });
    await expect(cli.waitForOutput(/last words/)).resolves.toMatchObject({ text: 'last words\n' });
  });

  it('keeps stdin open on request so a test can talk to the child', async () => {
    const cli = startCli(['cat'], { script, keepStdinOpen: true });
    cli.child.stdin.write('ping\n');
    await cli.waitForOutput(/ping/);
    cli.child.stdin.end('pong\n');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toBe('ping\npong\n');
  });

  it('killAllStartedClis SIGKILLs children that ignore SIGTERM', async () => {
    const stubborn = startCli(['ignore-sigterm'], { script });
    const other = startCli(['serve'], { script });
    await stubborn.waitForOutput(/ready/);
    await other.waitForOutput(/ready/);
    stubborn.child.kill('SIGTERM');
    await stubborn.waitForOutput(/ignoring SIGTERM/);
    expect(isAlive(stubborn.pid)).toBe(true);

    await killAllStartedClis();

    expect(await stubborn.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await other.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(isAlive(stubborn.pid)).toBe(false);
    expect(isAlive(other.pid)).toBe(false);
  });
});
