/**
 * Progress of a long one-shot command (`export`), on stderr: a bar on a terminal (cli-progress),
 * plain lines otherwise (a log file or CI keeps them readable: no cursor movement, no carriage
 * returns), or nothing.
 */
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { formatDuration } from './waterfall.js';

export interface ProgressState {
  threads: number;
  threadsListed: number;
  runsFound: number;
  /** Terminal runs to export (known once listing is done). */
  runsTotal: number;
  runsRead: number;
  stepsRead: number;
  spansDelivered: number;
}

export interface ProgressReporter {
  /** Listing the threads' runs starts. */
  listing(state: ProgressState): void;
  /** Listing is done; exporting starts with `runsTotal` runs to go. */
  exporting(state: ProgressState): void;
  update(state: ProgressState): void;
  /** The last update; leaves the terminal as it found it (cursor shown, line ended). */
  stop(state: ProgressState): void;
}

export type ProgressMode = 'bar' | 'lines' | 'none';

export interface ProgressOptions {
  stream: Writable;
  /** Columns of the terminal (the bar is sized to fit). */
  width: number;
  /** For tests: the clock. */
  now?: () => number;
}

const silent: ProgressReporter = { listing: () => {}, exporting: () => {}, update: () => {}, stop: () => {} };

function rate(spans: number, startedAt: number, now: number): number {
  const seconds = (now - startedAt) / 1000;
  return seconds > 0 ? spans / seconds : 0;
}

function eta(done: number, total: number, startedAt: number, now: number): string {
  if (done <= 0 || total <= done) return done >= total ? '0s' : '?';
  return formatDuration(((now - startedAt) / 1000 / done) * (total - done));
}

/**
 * Plain lines: one when listing starts and one when it ends, then one each time another tenth of
 * the runs is done (or 5 s passed), and the final counts.
 */
function linesReporter(options: ProgressOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  let startedAt = now();
  let lastAt = 0;
  let lastTenth = -1;
  let phase: 'listing' | 'exporting' = 'listing';
  let lastCounts = '';
  const counts = (s: ProgressState) => `${s.runsRead} ${s.stepsRead} ${s.spansDelivered}`;
  const write = (text: string) => options.stream.write(`export: ${text}\n`);
  const line = (s: ProgressState) =>
    `${s.runsRead}/${s.runsTotal} runs, ${s.stepsRead} steps read, ${s.spansDelivered} spans delivered ` +
    `(${Math.round(rate(s.spansDelivered, startedAt, now()))} spans/s, ETA ${eta(s.runsRead, s.runsTotal, startedAt, now())})`;
  const due = (done: number, total: number) => {
    const tenth = total > 0 ? Math.floor((done / total) * 10) : 0;
    if (tenth <= lastTenth && now() - lastAt < 5000) return false;
    lastTenth = Math.max(lastTenth, tenth);
    lastAt = now();
    return true;
  };
  return {
    listing(s) {
      lastAt = now();
      write(`listing the runs of ${s.threads} thread${s.threads === 1 ? '' : 's'}`);
    },
    exporting(s) {
      phase = 'exporting';
      startedAt = now();
      lastAt = startedAt;
      lastTenth = -1;
      write(`${s.runsTotal} finished run${s.runsTotal === 1 ? '' : 's'} to export from ${s.threads} thread${s.threads === 1 ? '' : 's'}`);
    },
    update(s) {
      if (phase === 'listing') {
        // Only worth a line when there are many threads to list.
        if (s.threads >= 10 && due(s.threadsListed, s.threads)) write(`listed ${s.threadsListed}/${s.threads} threads, ${s.runsFound} runs found`);
        return;
      }
      if (s.runsTotal > 0 && due(s.runsRead, s.runsTotal)) {
        lastCounts = counts(s);
        write(line(s));
      }
    },
    stop(s) {
      // The final counts, unless the last line already said them.
      if (phase === 'exporting' && s.runsTotal > 0 && counts(s) !== lastCounts) write(line(s));
    },
  };
}

/** cli-progress bars, redrawn in place, sized to the terminal: one while listing, one while exporting. */
function barReporter(options: ProgressOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  let startedAt = now();
  // The text around the bar takes ~62 columns; the bar gets the rest, between 10 and 40.
  const barsize = Math.max(10, Math.min(40, options.width - 62));
  const common = { stream: options.stream, barsize, hideCursor: true, linewrap: false, stopOnComplete: false, fps: 10, etaBuffer: 20 };
  const listingBar = new cliProgress.SingleBar(
    { ...common, clearOnComplete: true, format: 'listing {bar} {value}/{total} threads · {runs} runs found' },
    cliProgress.Presets.shades_classic,
  );
  const exportBar = new cliProgress.SingleBar(
    { ...common, clearOnComplete: false, format: 'export {bar} {value}/{total} runs · {steps} steps · {spans} spans · {rate}/s · ETA {eta_formatted}' },
    cliProgress.Presets.shades_classic,
  );
  const payload = (s: ProgressState) => ({
    runs: s.runsFound,
    steps: s.stepsRead,
    spans: s.spansDelivered,
    rate: Math.round(rate(s.spansDelivered, startedAt, now())),
  });
  let active: cliProgress.SingleBar | undefined;
  const finish = () => {
    active?.stop();
    active = undefined;
  };
  return {
    listing(s) {
      listingBar.start(s.threads, s.threadsListed, payload(s));
      active = listingBar;
    },
    exporting(s) {
      finish();
      startedAt = now();
      exportBar.start(s.runsTotal, 0, payload(s));
      active = exportBar;
    },
    update(s) {
      active?.update(active === listingBar ? s.threadsListed : s.runsRead, payload(s));
    },
    stop(s) {
      if (active === exportBar) exportBar.update(s.runsRead, payload(s));
      finish();
    },
  };
}

export function createProgress(mode: ProgressMode, options: ProgressOptions): ProgressReporter {
  if (mode === 'bar') return barReporter(options);
  if (mode === 'lines') return linesReporter(options);
  return silent;
}
