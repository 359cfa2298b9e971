// Small helpers shared by the scenarios: percentiles, memory readings, result records.
import { performance } from 'node:perf_hooks';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile (p in 0..100) of a list of numbers; undefined when empty. */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

export function median(values) {
  return percentile(values, 50);
}

export const round = (value, digits = 1) => (value === undefined || value === null || Number.isNaN(value) ? value : Number(value.toFixed(digits)));

export const mib = (bytes) => round(bytes / (1024 * 1024), 1);

/** RSS and heap after a full GC (needs --expose-gc; without it, the reading is taken as is). */
export function memoryAfterGc() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
}

/** Waits until `condition()` is true, checking every `everyMs`; false on timeout. */
export async function waitFor(condition, { timeoutMs, everyMs = 20 }) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await condition()) return true;
    await sleep(everyMs);
  }
  return Boolean(await condition());
}

/**
 * A figure as the harness reports it: `target` is the README/issue target (text) and `met` whether
 * the measured value meets it (undefined when there is no target).
 */
export function figure(metric, value, unit, extra = {}) {
  return { metric, value, unit, ...extra };
}

/** CPU time (user + system) in ms since `start` (a `process.cpuUsage()` reading). */
export function cpuMsSince(start) {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}
