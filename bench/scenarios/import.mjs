// import: the real CLI (`node dist/cli/bin.js import FILE`) on a generated JSONL file of saved runs
// and steps, exporting to a local OTLP sink. Wall time, records/s, spans/s and the child's peak RSS
// (from `/usr/bin/time -v` when present, else from a wrapper reading `process.resourceUsage()`).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { mapRuns } from '../../dist/delivery/export-runs.js';
import { RecordCollector } from '../../dist/sources/collect.js';
import { readRecordSource } from '../../dist/sources/files.js';
import { startOtlpSink } from '../lib/otlp-sink.mjs';
import { prng, syntheticRun } from '../lib/records.mjs';
import { figure, mib, round } from '../lib/util.mjs';

export const defaults = { runs: 5000, stepsPerRun: 20, heapBreakdown: true };

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const bin = join(root, 'dist', 'cli', 'bin.js');
const rssWrapper = join(here, 'import-rss-wrapper.mjs');

async function writeJsonl(path, runCount, stepsPerRun) {
  const random = prng(7);
  const out = createWriteStream(path);
  let records = 0;
  for (let i = 0; i < runCount; i++) {
    const { run, steps } = syntheticRun(i, stepsPerRun, random);
    // Saved as a dump would hold them: the run, then its steps.
    let chunk = `${JSON.stringify(run)}\n`;
    for (const step of steps) chunk += `${JSON.stringify(step)}\n`;
    records += 1 + steps.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return records;
}

/** `/usr/bin/time -v` output → { maxRssKb, userSeconds, systemSeconds }. */
function parseTimeV(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    maxRssKb: num(/Maximum resident set size \(kbytes\): (\d+)/),
    userSeconds: num(/User time \(seconds\): ([\d.]+)/),
    systemSeconds: num(/System time \(seconds\): ([\d.]+)/),
  };
}

function runChild(command, args, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

export async function run(params = {}) {
  const { runs: runCount, stepsPerRun, heapBreakdown } = { ...defaults, ...params };
  const dir = await mkdtemp(join(tmpdir(), 'assistants-otel-bench-'));
  const file = join(dir, 'records.jsonl');
  const sink = await startOtlpSink();
  try {
    const records = await writeJsonl(file, runCount, stepsPerRun);
    const fileBytes = (await stat(file)).size;
    const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url };
    delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    const useTime = existsSync('/usr/bin/time');
    const cliArgs = [bin, 'import', file, '--otlp-endpoint', sink.url];
    const started = performance.now();
    const result = useTime
      ? await runChild('/usr/bin/time', ['-v', process.execPath, ...cliArgs], env)
      : await runChild(process.execPath, [rssWrapper, ...cliArgs], env);
    const wallMs = performance.now() - started;
    if (result.code !== 0) throw new Error(`import exited ${result.code}: ${result.stderr.slice(-2000)}`);
    let usage;
    if (useTime) {
      usage = parseTimeV(result.stderr);
    } else {
      const line = result.stderr.split('\n').find((l) => l.startsWith('BENCH_RESOURCE_USAGE '));
      usage = line ? JSON.parse(line.slice('BENCH_RESOURCE_USAGE '.length)) : {};
    }
    const summary = /import: (\d+) runs, (\d+) steps, (\d+) tool calls → (\d+) of (\d+) spans exported/.exec(result.stdout);
    const spans = summary ? Number(summary[5]) : undefined;
    const delivered = summary ? Number(summary[4]) : undefined;
    const seconds = wallMs / 1000;
    // Where the import's memory goes: the records held after reading, validating and grouping (the
    // CLI holds them for the whole export), and what mapping every run at once would add (the CLI
    // maps and sends batch by batch, so it holds only one batch of spans at a time).
    let heap;
    if (heapBreakdown) {
      const used = () => {
        globalThis.gc?.();
        globalThis.gc?.();
        return process.memoryUsage().heapUsed;
      };
      const h0 = used();
      const collector = new RecordCollector();
      await readRecordSource(file, collector, process.stdin);
      const collected = collector.result();
      const h1 = used();
      const mapped = mapRuns(collected.runs, {});
      const h2 = used();
      heap = { collectedMiB: mib(h1 - h0), mappedMiB: mib(h2 - h1), runs: mapped.length };
    }
    const cpuSeconds = (usage.userSeconds ?? 0) + (usage.systemSeconds ?? 0);
    return {
      params: { runs: runCount, stepsPerRun, records, fileMiB: mib(fileBytes), rssFrom: useTime ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS' },
      figures: [
        figure('wall time', round(seconds, 2), 's'),
        figure('records/s (runs + steps)', Math.round(records / seconds), 'records/s'),
        figure('spans/s delivered', delivered === undefined ? null : Math.round(delivered / seconds), 'spans/s'),
        figure('input MiB/s', round(fileBytes / (1024 * 1024) / seconds, 1), 'MiB/s'),
        figure('peak RSS of the CLI', usage.maxRssKb === undefined ? null : round(usage.maxRssKb / 1024, 1), 'MiB'),
        figure('peak RSS per MiB of input', usage.maxRssKb === undefined ? null : round(usage.maxRssKb / 1024 / (fileBytes / (1024 * 1024)), 2), 'MiB/MiB'),
        figure('time before the first OTLP request', sink.stats.firstRequestAt === undefined ? null : round((sink.stats.firstRequestAt - started) / 1000, 2), 's'),
        ...(heap
          ? [
              figure('heap held by the collected records', heap.collectedMiB, 'MiB', { note: 'validated runs and steps, grouped (in-process replay of the CLI steps)' }),
              figure('heap all spans would take if mapped at once', heap.mappedMiB, 'MiB', { note: 'not held by the CLI: exportRuns maps and sends batch by batch' }),
            ]
          : []),
        figure('CPU time (user + sys)', round(cpuSeconds, 2), 's'),
        figure('OTLP bytes per span at the sink', spans ? round(sink.stats.bytes / spans, 1) : null, 'B/span'),
      ],
      details: {
        command: `node dist/cli/bin.js import ${file} --otlp-endpoint ${sink.url}`,
        exitCode: result.code,
        summary: result.stdout.trim().split('\n')[0],
        spans,
        delivered,
        sinkRequests: sink.stats.requests,
        sinkBytes: sink.stats.bytes,
        userSeconds: usage.userSeconds,
        systemSeconds: usage.systemSeconds,
      },
    };
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
}
