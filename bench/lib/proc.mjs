// The real CLI as a child process, measured from outside: RSS sampled from /proc/PID/status
// (VmRSS, and VmHWM, the kernel's own peak), CPU time from /proc/PID/stat. No --expose-gc, no
// forced GC: what an operator's `ps` or a container's memory limit sees.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(root, 'dist', 'cli', 'bin.js');
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** { rssKb, hwmKb } of a live process, or undefined when it is gone (or not Linux). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of a live process, in ms. */
export function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * Starts `node dist/cli/bin.js ...args` and samples its RSS every `everyMs`. `samples` holds
 * { at (ms since start), rssKb }; `marks` lets a scenario label moments (phase boundaries).
 */
export function startMeasuredCli(args, { env = {}, everyMs = 100 } = {}) {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const samples = [];
  const timer = setInterval(() => {
    const m = memoryOf(child.pid);
    if (m) samples.push({ at: performance.now() - started, rssKb: m.rssKb });
  }, everyMs);
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  void exited.then(() => clearInterval(timer));
  return {
    child,
    samples,
    stderr: () => stderr,
    stdout: () => stdout,
    elapsed: () => performance.now() - started,
    memory: () => memoryOf(child.pid),
    cpuMs: () => cpuMsOf(child.pid),
    exited,
    /** Resolves with the match once stderr matches `re` (rejects after `timeoutMs`). */
    async waitForStderr(re, timeoutMs = 30_000) {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        const m = re.exec(stderr);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no stderr line matched ${re} within ${timeoutMs} ms; stderr tail:\n${stderr.slice(-2000)}`);
    },
    async stop() {
      clearInterval(timer);
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(killer);
      return result;
    },
  };
}

/** Samples between `from` and `to` (ms since start): mean, max, last RSS in MB. */
export function rssBetween(samples, from, to) {
  const inside = samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.rssKb);
  if (inside.length === 0) return { meanMb: undefined, maxMb: undefined, lastMb: undefined, n: 0 };
  const mb = (kb) => (kb * 1024) / 1e6;
  return { meanMb: mb(inside.reduce((a, b) => a + b, 0) / inside.length), maxMb: mb(Math.max(...inside)), lastMb: mb(inside.at(-1)), n: inside.length };
}

/** Reads a metric sample from a Prometheus text (labels exactly as written, or none). */
export function metricValue(text, name, labels = '') {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [key, value] = line.split(' ');
    if (key === `${name}${labels}`) return Number(value);
  }
  return undefined;
}
