/** Progress on stderr, only when stderr is a terminal (never in pipes, files or CI logs). */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

/** A bar when `total` is known, a running count otherwise; both with the rate. */
export function progress(label: string, total?: number, unit = 'events'): Progress {
  if (!process.stderr.isTTY) return SILENT;
  const bar = new cliProgress.SingleBar({
    format: (_options, params) => progressText({
      label, unit, value: params.value, total: total && params.total, seconds: (Date.now() - params.startTime) / 1000,
    }),
    stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 10,
  });
  bar.start(total ?? 0, 0);
  return {
    update: (v) => bar.update(v),
    stop: () => bar.stop(),
  };
}

export interface ProgressState {
  label: string;
  unit: string;
  value: number;
  /** Absent or 0 when the size of the work is not known: no bar, no percentage, no ETA. */
  total?: number;
  /** Since the work started. */
  seconds: number;
}

const BAR_WIDTH = 24;

/**
 * One line of progress: `record gup [######------] 42% 1.2M/2.9M events, 1.1M events/s, ETA 2s`,
 * or without a known total `record gup 1.2M events, 1.1M events/s`. The rate and the ETA wait for
 * the first second of work (before it, a rate says little).
 */
export function progressText(s: ProgressState): string {
  const rate = s.seconds >= 1 ? s.value / s.seconds : undefined;
  const speed = rate === undefined ? '' : `, ${compact(rate)} ${s.unit}/s`;
  if (!s.total) return `${s.label} ${compact(s.value)} ${s.unit}${speed}`;
  const done = Math.min(1, s.value / s.total);
  const filled = Math.round(done * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const eta = rate === undefined || rate === 0 ? '' : `, ETA ${duration(Math.max(0, s.total - s.value) / rate)}`;
  return `${s.label} ${bar} ${Math.floor(done * 100)}% ${compact(s.value)}/${compact(s.total)} ${s.unit}${speed}${eta}`;
}

/** 950, 12.3k, 4.56M, 1.2G: three significant figures at most. */
export function compact(n: number): string {
  const suffixes = ['', 'k', 'M', 'G'];
  let scaled = n;
  let i = 0;
  // step up while three figures would read 1000 or more (999.96k is 1M)
  while (i < suffixes.length - 1 && +scaled.toPrecision(3) >= 1000) {
    scaled /= 1000;
    i++;
  }
  return i === 0 ? String(Math.round(scaled)) : `${+scaled.toPrecision(3)}${suffixes[i]}`;
}

/** 45s, 3m05s, 2h07m. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A running count with its rate and a second figure, for work of unknown length (explore's
 * schedules and violations): `explore 1200 schedules (950/s), 1 violations`.
 */
export function counter(label: string, unit: string): (p: { schedules: number; violations: number }) => void {
  if (!process.stderr.isTTY) return () => {};
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    { format: `${label} {value} ${unit} ({rate}/s), {violations} violations`, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(0, 0, { rate: 0, violations: 0 });
  process.once('beforeExit', () => bar.stop());
  return ({ schedules, violations }) => {
    const rate = Math.round(schedules / Math.max(0.001, (Date.now() - started) / 1000));
    bar.update(schedules, { rate, violations });
  };
}
