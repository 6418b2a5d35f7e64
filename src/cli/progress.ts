/** Progress on stderr, only when stderr is a terminal (never in pipes, files or CI logs). */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

/** A bar when `total` is known, a running count otherwise. */
export function progress(label: string, total?: number): Progress {
  if (!process.stderr.isTTY) return SILENT;
  const format = total
    ? `${label} [{bar}] {percentage}% {value}/{total} events`
    : `${label} {value} events`;
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
