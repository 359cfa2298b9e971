// import: the real CLI (`node dist/cli/bin.js import FILE`) on generated JSONL files of saved runs
// and steps (each run followed by its steps, as a dump holds them) of about 10, 50, 100 and 200 MB,
// exporting to a local OTLP sink. Wall time and peak RSS of the CLI process (`/usr/bin/time -v`
// when present, else a wrapper reading `process.resourceUsage()`), and when the sink saw the first
// request. The baseline, the parse floor: a process that only reads the same file line by line and
// `JSON.parse`s each line (bench/scenarios/parse-floor-child.mjs), measured the same way.
// Targets (issue): peak RSS ≤ 300 MB at 200 MB sorted by run; wall time within 5× the parse floor.
// Then one input that is not sorted (`unsortedMb`): the same records as a steps file read before
// the runs file, so every run is held until its run record comes; past `--max-held-mb` (16) the
// held records go to a spill file. Its peak RSS is the bound stated for unsorted input.
// `bin` (a path to another build's dist/cli/bin.js) measures another version the same way.
// Last, where the time goes (`stagesMb`): the import's pipeline in one process, stopped after each
// stage (bench/scenarios/import-stages-child.mjs), CPU seconds per stage on the same sorted input.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOtlpSink } from '../lib/otlp-sink.mjs';
import { prng, syntheticRun } from '../lib/records.mjs';
import { figure, round } from '../lib/util.mjs';

export const defaults = { sizesMb: [10, 50, 100, 200], stepsPerRun: 20, unsortedMb: 100, stagesMb: 50 };
export const quickDefaults = { sizesMb: [10], unsortedMb: 10, stagesMb: 10 };
const STAGES = ['parse', 'validate', 'group', 'map', 'encode'];
const RSS_TARGET_MB = 300;
const FLOOR_TARGET = 5;

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const bin = join(root, 'dist', 'cli', 'bin.js');
const rssWrapper = join(here, 'import-rss-wrapper.mjs');
const floorChild = join(here, 'parse-floor-child.mjs');
const stagesChild = join(here, 'import-stages-child.mjs');

/** Writes runs (each then its steps) until the file holds `targetBytes`; returns the record count. */
async function writeJsonl(path, targetBytes, stepsPerRun) {
  const random = prng(7);
  const out = createWriteStream(path);
  let records = 0;
  let bytes = 0;
  for (let i = 0; bytes < targetBytes; i++) {
    const { run, steps } = syntheticRun(i, stepsPerRun, random);
    let chunk = `${JSON.stringify(run)}\n`;
    for (const step of steps) chunk += `${JSON.stringify(step)}\n`;
    records += 1 + steps.length;
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return records;
}

/** The same records as `writeJsonl`, as two files: every step first, then every run. */
async function writeStepsThenRuns(stepsPath, runsPath, targetBytes, stepsPerRun) {
  const random = prng(7);
  const steps = createWriteStream(stepsPath);
  const runs = createWriteStream(runsPath);
  let bytes = 0;
  for (let i = 0; bytes < targetBytes; i++) {
    const { run, steps: list } = syntheticRun(i, stepsPerRun, random);
    const runLine = `${JSON.stringify(run)}\n`;
    const stepLines = list.map((step) => `${JSON.stringify(step)}\n`).join('');
    bytes += Buffer.byteLength(runLine) + Buffer.byteLength(stepLines);
    if (!steps.write(stepLines)) await once(steps, 'drain');
    if (!runs.write(runLine)) await once(runs, 'drain');
  }
  steps.end();
  runs.end();
  await Promise.all([once(steps, 'finish'), once(runs, 'finish')]);
}

function parseTimeV(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return { maxRssKb: num(/Maximum resident set size \(kbytes\): (\d+)/), userSeconds: num(/User time \(seconds\): ([\d.]+)/), systemSeconds: num(/System time \(seconds\): ([\d.]+)/) };
}

function runMeasured(args, env) {
  const useTime = existsSync('/usr/bin/time');
  const [command, argv] = useTime ? ['/usr/bin/time', ['-v', process.execPath, ...args]] : [process.execPath, [rssWrapper, ...args]];
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      let usage;
      if (useTime) usage = parseTimeV(stderr);
      else {
        const line = stderr.split('\n').find((l) => l.startsWith('BENCH_RESOURCE_USAGE '));
        usage = line ? JSON.parse(line.slice('BENCH_RESOURCE_USAGE '.length)) : {};
      }
      resolvePromise({ code, stdout, stderr, wallMs, started, usage, rssFrom: useTime ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS' });
    });
  });
}

export async function run(params = {}) {
  const p = { ...defaults, ...(params.quick ? quickDefaults : {}), ...params };
  const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-bench-import-'));
  const sink = await startOtlpSink();
  const rows = [];
  let unsorted;
  let stages;
  try {
    for (const sizeMb of p.sizesMb) {
      const file = join(dir, `records-${sizeMb}mb.jsonl`);
      const records = await writeJsonl(file, sizeMb * 1e6, p.stepsPerRun);
      const fileBytes = (await stat(file)).size;
      const env = { PATH: process.env.PATH, HOME: process.env.HOME };
      const floor = await runMeasured([floorChild, file], env);
      if (floor.code !== 0) throw new Error(`parse floor exited ${floor.code}: ${floor.stderr.slice(-500)}`);
      const firstBefore = sink.stats.requests;
      sink.stats.firstRequestAt = undefined;
      const cli = await runMeasured([p.bin ?? bin, 'import', file, '--otlp-endpoint', sink.url], env);
      if (cli.code !== 0) throw new Error(`import exited ${cli.code}: ${cli.stderr.slice(-2000)}`);
      const summary = /import: (\d+) runs, (\d+) steps, (\d+) tool calls → (\d+) of (\d+) spans exported/.exec(cli.stdout);
      rows.push({
        sizeMb,
        fileMb: round(fileBytes / 1e6, 1),
        records,
        wallSeconds: round(cli.wallMs / 1000, 2),
        peakRssMb: cli.usage.maxRssKb === undefined ? null : round((cli.usage.maxRssKb * 1024) / 1e6, 1),
        cpuSeconds: round((cli.usage.userSeconds ?? 0) + (cli.usage.systemSeconds ?? 0), 2),
        firstRequestSeconds: sink.stats.firstRequestAt === undefined ? null : round((sink.stats.firstRequestAt - cli.started) / 1000, 2),
        spans: summary ? Number(summary[5]) : undefined,
        delivered: summary ? Number(summary[4]) : undefined,
        requests: sink.stats.requests - firstBefore,
        floorSeconds: round(floor.wallMs / 1000, 2),
        floorCpuSeconds: round((floor.usage.userSeconds ?? 0) + (floor.usage.systemSeconds ?? 0), 2),
        floorPeakRssMb: floor.usage.maxRssKb === undefined ? null : round((floor.usage.maxRssKb * 1024) / 1e6, 1),
        rssFrom: cli.rssFrom,
      });
      await rm(file, { force: true });
    }
    if (p.unsortedMb) unsorted = await runUnsorted(dir, sink, p);
    if (p.stagesMb) stages = await runStages(dir, p);
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
  const largest = rows.at(-1);
  const summary = {
    import: {
      peakRssMb: Object.fromEntries(rows.map((r) => [String(r.sizeMb), r.peakRssMb])),
      wallSeconds: Object.fromEntries(rows.map((r) => [String(r.sizeMb), r.wallSeconds])),
      parseFloorSeconds: Object.fromEntries(rows.map((r) => [String(r.sizeMb), r.floorSeconds])),
      parseFloorPeakRssMb: Object.fromEntries(rows.map((r) => [String(r.sizeMb), r.floorPeakRssMb])),
      firstRequestSeconds: Object.fromEntries(rows.map((r) => [String(r.sizeMb), r.firstRequestSeconds])),
      timeOverFloor: Object.fromEntries(rows.map((r) => [String(r.sizeMb), round(r.wallSeconds / r.floorSeconds, 2)])),
      cpuSeconds: Object.fromEntries(rows.map((r) => [String(r.sizeMb), r.cpuSeconds])),
      parseFloorCpuSeconds: Object.fromEntries(rows.map((r) => [String(r.sizeMb), r.floorCpuSeconds])),
      ...(unsorted ? { unsorted } : {}),
      ...(stages ? { stagesCpuSeconds: stages.cpuSeconds } : {}),
    },
  };
  const figures = rows.flatMap((r) => [
    figure(`${r.sizeMb} MB (${r.records.toLocaleString('en-US')} records, ${r.spans?.toLocaleString('en-US')} spans): wall time / parse floor`, `${r.wallSeconds} / ${r.floorSeconds}`, 's', {
      ...(r === largest && r.sizeMb >= 200 ? { target: `≤ ${FLOOR_TARGET}× the parse floor`, met: r.wallSeconds <= FLOOR_TARGET * r.floorSeconds } : {}),
      note: `${round(r.wallSeconds / r.floorSeconds, 1)}× the floor; first OTLP request after ${r.firstRequestSeconds} s; CPU ${r.cpuSeconds} s`,
    }),
    figure(`${r.sizeMb} MB: peak RSS of the CLI / of the parse floor`, `${r.peakRssMb} / ${r.floorPeakRssMb}`, 'MB', {
      ...(r === largest && r.sizeMb >= 200 ? { target: `≤ ${RSS_TARGET_MB} MB`, met: r.peakRssMb <= RSS_TARGET_MB } : {}),
    }),
  ]);
  if (unsorted) {
    figures.push(
      figure(`unsorted ${unsorted.sizeMb} MB (steps file, then runs file): wall time / peak RSS`, `${unsorted.wallSeconds} / ${unsorted.peakRssMb}`, 's / MB', {
        note: `every run held until its run record; ${unsorted.spilledMb ?? 0} MB spilled to disk past --max-held-mb 16; first OTLP request after ${unsorted.firstRequestSeconds} s`,
      }),
    );
  }
  if (stages) {
    const c = stages.cpuSeconds;
    const step = (stage, before) => round(c[stage] - c[before], 2);
    figures.push(
      figure(`where the time goes, ${stages.sizeMb} MB in one process: parse / validate / group / map / encode`, `${c.parse} / ${step('validate', 'parse')} / ${step('group', 'validate')} / ${step('map', 'group')} / ${step('encode', 'map')}`, 'CPU s', {
        note: `cumulative ${c.encode} s; the CLI adds HTTP, startup and the GC of a process that also sends`,
      }),
    );
  }
  return {
    params: { sizesMb: p.sizesMb, stepsPerRun: p.stepsPerRun, order: 'each run followed by its steps', unsortedMb: p.unsortedMb, stagesMb: p.stagesMb, rssFrom: rows[0]?.rssFrom },
    figures,
    summary,
    details: { rows, unsorted, stages },
  };
}

/** CPU seconds of the import's pipeline stopped after each stage, on one sorted input. */
async function runStages(dir, p) {
  const file = join(dir, `stages-${p.stagesMb}mb.jsonl`);
  await writeJsonl(file, p.stagesMb * 1e6, p.stepsPerRun);
  const cpuSeconds = {};
  const wallSeconds = {};
  for (const stage of STAGES) {
    const child = await runMeasured([stagesChild, file, stage], { PATH: process.env.PATH, HOME: process.env.HOME });
    if (child.code !== 0) throw new Error(`stages child (${stage}) exited ${child.code}: ${child.stderr.slice(-500)}`);
    const line = child.stdout.trim().split('\n').at(-1);
    const result = JSON.parse(line);
    cpuSeconds[stage] = round(result.cpuSeconds, 2);
    wallSeconds[stage] = round(result.wallSeconds, 2);
  }
  await rm(file, { force: true });
  return { sizeMb: p.stagesMb, cpuSeconds, wallSeconds };
}

/** The unsorted case: steps.jsonl then runs.jsonl, everything held, spilled past the default bound. */
async function runUnsorted(dir, sink, p) {
  const steps = join(dir, 'steps.jsonl');
  const runs = join(dir, 'runs.jsonl');
  await writeStepsThenRuns(steps, runs, p.unsortedMb * 1e6, p.stepsPerRun);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: dir };
  const before = sink.stats.requests;
  sink.stats.firstRequestAt = undefined;
  const cli = await runMeasured([p.bin ?? bin, 'import', steps, runs, '--otlp-endpoint', sink.url], env);
  if (cli.code !== 0) throw new Error(`import (unsorted) exited ${cli.code}: ${cli.stderr.slice(-2000)}`);
  const spilled = / (\d+) records of runs not complete when read were held on disk \(([\d.]+) MB/.exec(cli.stdout);
  await rm(steps, { force: true });
  await rm(runs, { force: true });
  return {
    sizeMb: p.unsortedMb,
    wallSeconds: round(cli.wallMs / 1000, 2),
    peakRssMb: cli.usage.maxRssKb === undefined ? null : round((cli.usage.maxRssKb * 1024) / 1e6, 1),
    cpuSeconds: round((cli.usage.userSeconds ?? 0) + (cli.usage.systemSeconds ?? 0), 2),
    firstRequestSeconds: sink.stats.firstRequestAt === undefined ? null : round((sink.stats.firstRequestAt - cli.started) / 1000, 2),
    recordsSpilled: spilled ? Number(spilled[1]) : 0,
    spilledMb: spilled ? Number(spilled[2]) : 0,
    requests: sink.stats.requests - before,
    summary: cli.stdout.trim().split('\n')[0],
  };
}
