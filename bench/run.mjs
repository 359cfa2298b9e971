#!/usr/bin/env node
// The benchmark harness behind `npm run bench` (which builds first).
//
//   npm run bench                          every scenario (under ten minutes on 2 cores)
//   npm run bench -- --quick               every scenario, small (under a minute)
//   npm run bench -- api encode            only these
//   npm run bench -- --list                the scenario names
//
// Each scenario runs in a child process of its own (`node --expose-gc`, against the built `dist/`),
// so one scenario's heap, timers or JIT state cannot colour another's. The scenarios that mostly wait
// on the real clock (api, outage: pollers, simulators and sinks at a few dozen requests per second)
// run side by side; the ones that measure CPU or memory (encode, import, scale, library,
// fleet-leases) one after another, alone. The harness prints one table per scenario, each figure
// next to its target and whether it is met, writes bench/results.json (the summary keys, every
// figure, the details) and docs/BENCHMARKS.md (bench/lib/report.mjs). Figures are measurements,
// not tests: the exit status is 0 unless a scenario crashed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeReport } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
// A --quick run is a smoke test: it writes files of its own (git-ignored), so it never replaces
// the figures of a real run in the committed results.json and BENCHMARKS.md.
const outputs = (quick) =>
  quick
    ? { RESULTS: join(here, 'results.quick.json'), REPORT: join(here, 'BENCHMARKS.quick.md') }
    : { RESULTS: join(here, 'results.json'), REPORT: join(root, 'docs', 'BENCHMARKS.md') };

/** name → what it measures, and how it runs (module: bench/scenarios/<name>.mjs). Order = the report's. */
const SCENARIOS = {
  api: { what: 'API requests per exported run (thread-watched, registered, --live, a naive poller) and freshness at a real 2 s interval', parallel: true },
  outage: { what: 'the collector down 60 s: backlog, time to catch up, spans lost', parallel: true },
  encode: { what: 'mapping + OTLP encoding: ours against the OTel SDK path, spans/s and bytes/span' },
  scale: { what: 'RSS and CPU of the real CLI with 1,000 and 10,000 watched runs and threads, at rest and with activity' },
  import: { what: 'the CLI import at 10/50/100/200 MB: wall time and peak RSS, against the parse floor' },
  library: { what: 'the library\'s overhead per instrumented call against the plain SDK: latency, allocations, the following of the run' },
  instrumentation: { what: 'the library instrumentation: stream observation overhead per event, spans/s emitted, extra API requests' },
  'fleet-leases': { what: 'PostgreSQL store: lease round cost, registration rate, takeover after SIGKILL, drain (needs PostgreSQL binaries)', full: true },
};
const CHILD_TIMEOUT_MS = 420_000;

// ---- child mode: run one scenario, write its result as JSON ------------------------------------

async function child(name, outFile, quick) {
  const module = await import(pathToFileURL(join(here, 'scenarios', `${name}.mjs`)).href);
  const started = performance.now();
  const result = await module.run(quick ? { quick: true } : {});
  await writeFile(outFile, JSON.stringify({ ...result, seconds: (performance.now() - started) / 1000 }));
  // Sockets or timers a scenario left behind must not keep the child alive.
  process.exit(0);
}

// ---- parent mode ---------------------------------------------------------------------------------

function runScenario(name, quick) {
  return new Promise((resolve) => {
    void (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-bench-run-'));
      const out = join(dir, 'result.json');
      const started = performance.now();
      const proc = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', name, out, quick ? 'quick' : 'full'], {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
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

function printTable(result) {
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
  return { node: process.version, platform: `${process.platform} ${process.arch}`, cpus: list.length, cpuModel: list[0]?.model ?? 'unknown', totalMemoryGB: Math.round((totalmem() / 1e9) * 10) / 10 };
}

function report(name, result) {
  console.log(`\n== ${name}: ${SCENARIOS[name].what} (${result.wallSeconds.toFixed(1)} s)`);
  if (!result.ok) {
    console.log(`CRASHED: ${result.error}`);
    for (const l of result.stderr.slice(-30)) console.log(`  ${l}`);
    return;
  }
  console.log(`parameters: ${Object.entries(result.params).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('/') : typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}`);
  printTable(result);
  if (result.stderr.length > 0) console.log(`(stderr of the scenario: ${result.stderr.length} lines, kept in results.json; first: ${result.stderr[0].slice(0, 160)})`);
}

/** The summary keys of every scenario present, merged (`api`, `freshness`, `encode`, …). */
function mergedSummary(scenarios) {
  const summary = {};
  for (const result of Object.values(scenarios)) {
    if (!result.ok || !result.summary) continue;
    for (const [group, values] of Object.entries(result.summary)) summary[group] = { ...(summary[group] ?? {}), ...values };
  }
  return summary;
}

async function parent(argv) {
  if (argv.includes('--list') || argv.includes('-h') || argv.includes('--help')) {
    console.log('Scenarios (npm run bench -- [--quick] NAME...; none: all):');
    for (const [name, { what }] of Object.entries(SCENARIOS)) console.log(`  ${name.padEnd(14)} ${what}`);
    return 0;
  }
  const quick = argv.includes('--quick');
  const { RESULTS, REPORT } = outputs(quick);
  const names = argv.filter((a) => a !== '--quick');
  const unknown = names.filter((a) => !(a in SCENARIOS));
  if (unknown.length > 0) {
    console.error(`bench: unknown scenario ${unknown.map((u) => JSON.stringify(u)).join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    return 2;
  }
  const selected = names.length > 0 ? Object.keys(SCENARIOS).filter((n) => names.includes(n)) : Object.keys(SCENARIOS).filter((n) => !(quick && SCENARIOS[n].full));
  const m = machine();
  console.log(`assistants-otel benchmarks${quick ? ' (--quick)' : ''}: Node ${m.node}, ${m.cpus} CPUs (${m.cpuModel}), ${m.platform}`);
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  const started = performance.now();
  const results = {};
  // Side by side: the scenarios that wait on the real clock. Then, alone, the ones that measure CPU and memory.
  const parallel = selected.filter((n) => SCENARIOS[n].parallel);
  const serial = selected.filter((n) => !SCENARIOS[n].parallel);
  if (parallel.length > 0) console.log(`\nrunning side by side: ${parallel.join(', ')}`);
  const done = await Promise.all(parallel.map((name) => runScenario(name, quick)));
  parallel.forEach((name, i) => (results[name] = done[i]));
  for (const name of parallel) report(name, results[name]);
  for (const name of serial) {
    results[name] = await runScenario(name, quick);
    report(name, results[name]);
  }
  const at = new Date().toISOString();
  for (const r of Object.values(results)) Object.assign(r, { measuredAt: at, command, quick });

  // Merge into results.json: a partial run replaces only the scenarios it ran.
  let previous = {};
  let fullRun;
  try {
    const before = JSON.parse(readFileSync(RESULTS, 'utf8'));
    previous = before.scenarios ?? {};
    fullRun = before.fullRun;
  } catch {
    previous = {};
  }
  const merged = { ...previous, ...results };
  const scenarios = Object.fromEntries(Object.keys(SCENARIOS).filter((n) => n in merged).map((n) => [n, merged[n]]));
  const targets = Object.entries(scenarios).flatMap(([name, r]) => (r.ok ? r.figures.filter((f) => f.met !== undefined).map((f) => ({ scenario: name, metric: f.metric, value: f.value, unit: f.unit, target: f.target, met: f.met })) : []));
  const wallSeconds = (performance.now() - started) / 1000;
  if (names.length === 0) fullRun = { command, at, quick, wallSeconds: Math.round(wallSeconds) };
  const document = { generatedAt: at, machine: m, command, quick, wallSeconds: Math.round(wallSeconds), fullRun, ...mergedSummary(scenarios), targets, scenarios };
  await writeFile(RESULTS, `${JSON.stringify(document, null, 2)}\n`);
  await writeReport(REPORT, document, SCENARIOS);

  const summary = Object.entries(results).flatMap(([name, r]) => (r.ok ? r.figures.filter((f) => f.met !== undefined).map((f) => ({ name, ...f })) : []));
  if (summary.length > 0) {
    console.log('\n== targets');
    for (const f of summary) console.log(`${f.met ? 'met    ' : 'NOT met'}  ${f.name}: ${f.metric} = ${fmt(f.value)} ${f.unit} (target ${f.target})`);
  }
  const crashed = Object.values(results).filter((r) => !r.ok).length;
  console.log(`\nwrote ${RESULTS} and ${REPORT} (${wallSeconds.toFixed(1)} s${crashed > 0 ? `; ${crashed} scenario(s) crashed` : ''})`);
  return crashed > 0 ? 1 : 0;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], process.argv[5] === 'quick');
} else {
  process.exitCode = await parent(process.argv.slice(2));
}
