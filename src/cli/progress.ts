/** Progress on stderr, only when stderr is a terminal (never in pipes, files or CI logs). */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

/** A bar when `total` is known, a running count otherwise. */
export function progress(label: string, total?: number, unit = 'events'): Progress {
  if (!process.stderr.isTTY) return SILENT;
  const format = total
    ? `${label} [{bar}] {percentage}% {value}/{total} ${unit}`
    : `${label} {value} ${unit}`;
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, 0);
  return {
    update: (v) => bar.update(v),
    stop: () => bar.stop(),
  };
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
