#!/usr/bin/env node
// The benchmark harness behind `npm run bench` (which builds first).
//
//   npm run bench                          every scenario
//   npm run bench -- mapping freshness     only these
//   npm run bench -- --list                the scenario names
//
// Each scenario runs in a fresh `node --expose-gc` child process (so one scenario's heap, timers or
// JIT state cannot colour another's figures), against the built `dist/`. The harness prints one
// table per scenario, each figure next to its target (when the issue or README sets one) and
// whether it is met, and writes bench/results.json. Figures are measurements, not tests: the exit
// status is 0 unless a scenario crashed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const RESULTS = join(here, 'results.json');

/** name → what it measures (module: bench/scenarios/<name>.mjs). Order = the order of a full run. */
const SCENARIOS = {
  mapping: 'mapRunToSpans over synthetic runs; protobuf serialization (bytes per span)',
  import: 'the CLI `import` on a generated JSONL file to a local OTLP sink: wall time, records/s, peak RSS',
  'sidecar-requests': 'API requests of the sidecar vs the lower bound, batch and --live',
  freshness: 'terminal run → its run span at the collector, p50/p95/p99',
  scale: '10,000 watched runs: RSS; tick cost vs watched count',
  'fleet-leases': 'PostgreSQL store: lease round cost, registration rate, takeover after SIGKILL, drain (needs PostgreSQL binaries)',
  instrumentation: 'the library instrumentation: stream observation overhead per event, spans/s emitted, extra API requests',
};
const CHILD_TIMEOUT_MS = 240_000;

// ---- child mode: run one scenario, write its result as JSON ------------------------------------

async function child(name, outFile) {
  const module = await import(pathToFileURL(join(here, 'scenarios', `${name}.mjs`)).href);
  const started = performance.now();
  const result = await module.run();
  await writeFile(outFile, JSON.stringify({ ...result, seconds: (performance.now() - started) / 1000 }));
  // Sockets or timers a scenario left behind must not keep the child alive.
  process.exit(0);
}

// ---- parent mode ---------------------------------------------------------------------------------

function runScenario(name) {
  return new Promise((resolve) => {
    void (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-bench-run-'));
      const out = join(dir, 'result.json');
      const started = performance.now();
      const proc = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', name, out], {
        cwd: root,
        stdio: ['ignore', 'inherit', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_TIMEOUT_MS);
      proc.on('close', async (code, signal) => {
        clearTimeout(timer);
        const wall = (performance.now() - started) / 1000;
        let result;
        try {
          result = code === 0 && existsSync(out) ? JSON.parse(await readFile(out, 'utf8')) : undefined;
        } catch {
          result = undefined;
        }
        await rm(dir, { recursive: true, force: true });
        const lines = stderr.split('\n').filter((l) => l.trim() !== '');
        if (result) resolve({ ok: true, wallSeconds: wall, ...result, stderr: lines });
        else resolve({ ok: false, wallSeconds: wall, error: signal ? `killed by ${signal} (timeout ${CHILD_TIMEOUT_MS / 1000} s?)` : `exited ${code}`, stderr: lines });
      });
    })();
  });
}

const fmt = (v) => (v === undefined || v === null ? '–' : typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(v));

function printTable(name, result) {
  const rows = result.figures.map((f) => [f.metric, fmt(f.value), f.unit ?? '', f.target ?? '', f.met === undefined ? '' : f.met ? 'yes' : 'NO', f.note ?? '']);
  const header = ['figure', 'value', 'unit', 'target', 'met', 'note'];
  const widths = header.map((h, i) => Math.min(i === 5 ? 200 : 80, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (cells) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function machine() {
  const list = cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    totalMemoryGB: Math.round((totalmem() / 1e9) * 10) / 10,
  };
}

async function parent(argv) {
  if (argv.includes('--list') || argv.includes('-h') || argv.includes('--help')) {
    console.log('Scenarios (npm run bench -- NAME...; none: all):');
    for (const [name, what] of Object.entries(SCENARIOS)) console.log(`  ${name.padEnd(18)} ${what}`);
    return 0;
  }
  const unknown = argv.filter((a) => !(a in SCENARIOS));
  if (unknown.length > 0) {
    console.error(`bench: unknown scenario ${unknown.map((u) => JSON.stringify(u)).join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    return 2;
  }
  const selected = argv.length > 0 ? Object.keys(SCENARIOS).filter((n) => argv.includes(n)) : Object.keys(SCENARIOS);
  const m = machine();
  console.log(`assistants-otel benchmarks: Node ${m.node}, ${m.cpus} CPUs (${m.cpuModel}), ${m.platform}`);
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  const started = performance.now();
  const results = {};
  let crashed = 0;
  for (const name of selected) {
    console.log(`\n== ${name}: ${SCENARIOS[name]}`);
    const result = await runScenario(name);
    results[name] = { ...result, measuredAt: new Date().toISOString(), command };
    if (!result.ok) {
      crashed++;
      console.log(`CRASHED: ${result.error}`);
      for (const l of result.stderr.slice(-30)) console.log(`  ${l}`);
      continue;
    }
    console.log(`parameters: ${Object.entries(result.params).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('/') : v}`).join(', ')}`);
    printTable(name, result);
    if (result.stderr.length > 0) console.log(`(stderr of the scenario: ${result.stderr.length} lines, kept in results.json; first: ${result.stderr[0].slice(0, 160)})`);
    console.log(`(${result.wallSeconds.toFixed(1)} s)`);
  }
  // Merge into results.json: a partial run replaces only the scenarios it ran.
  let previous = {};
  try {
    previous = JSON.parse(readFileSync(RESULTS, 'utf8')).scenarios ?? {};
  } catch {
    previous = {};
  }
  const merged = { ...previous, ...results };
  const ordered = Object.fromEntries(Object.keys(SCENARIOS).filter((n) => n in merged).map((n) => [n, merged[n]]));
  await writeFile(RESULTS, `${JSON.stringify({ generatedAt: new Date().toISOString(), machine: m, scenarios: ordered }, null, 2)}\n`);
  const summary = Object.entries(results).flatMap(([name, r]) => (r.ok ? r.figures.filter((f) => f.met !== undefined).map((f) => ({ name, ...f })) : []));
  if (summary.length > 0) {
    console.log('\n== targets');
    for (const f of summary) console.log(`${f.met ? 'met    ' : 'NOT met'}  ${f.name}: ${f.metric} = ${fmt(f.value)} ${f.unit} (target ${f.target})`);
  }
  console.log(`\nwrote ${RESULTS} (${((performance.now() - started) / 1000).toFixed(1)} s${crashed > 0 ? `; ${crashed} scenario(s) crashed` : ''})`);
  return crashed > 0 ? 1 : 0;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4]);
} else {
  process.exitCode = await parent(process.argv.slice(2));
}
