/**
 * `mmtrace tui FILE[#RUN] [FILE#RUN] [--follow]`: open the run view on one run, or the diff view on
 * two. Everything that can fail (a missing file, an unknown run, not a trace, no terminal) fails
 * before the screen is taken, with the error the rest of mmtrace gives. The browser draws on the
 * terminal's alternate screen and gives the terminal back on q, Ctrl-C and errors.
 */
import { render } from 'ink';
import { useEffect, useState } from 'react';
import { errors } from '../src/errors.js';
import { openTrace, parseRunRef, type RunInfo, type Trace } from '../src/trace/reader.js';
import { Browser } from './data/browser.js';
import { DiffBrowser } from './data/diff-browser.js';
import { RunSource } from './data/run-source.js';
import { changedLinesOnly } from './screen.js';
import { DiffView } from './ui/diff-view.js';
import { RunPicker } from './ui/picker.js';
import { RunView } from './ui/run-view.js';
import { themeFor, type Theme } from './ui/theme.js';
import { useFail } from './ui/use-keys.js';

export interface TuiOptions {
  follow?: boolean;
  /** Where to draw (tests and the benchmark pass their own); the process's terminal by default. */
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** How often --follow reads the run again, in ms. */
  pollMs?: number;
  /**
   * Progress of the work before the first frame (the diff view's diff, seconds for runs of a
   * million events): the command passes its bar on stderr, drawn before the screen is taken.
   */
  progress?: (label: string, total: number) => { update(value: number): void; stop(): void };
}

/** A run to open: the trace, and the run when the reference (or the file) names exactly one. */
interface Opened {
  trace: Trace;
  run: RunInfo | null;
  runs: RunInfo[];
}

async function openRef(ref: string, mustName: boolean): Promise<Opened> {
  const { file, run } = parseRunRef(ref);
  const trace = await openTrace(file);
  try {
    const runs = trace.listRuns();
    if (run !== undefined) return { trace, run: trace.resolveRun(run), runs };
    if (runs.length === 1) return { trace, run: runs[0]!, runs };
    if (runs.length === 0) throw errors.unknownRun(file, '(any)', []);
    if (mustName) throw errors.ambiguousRun(file, runs.map((r) => r.name));
    return { trace, run: null, runs };
  } catch (e) {
    trace.close();
    throw e;
  }
}

function useTerminalSize(stdout: NodeJS.WriteStream): { width: number; height: number } {
  const read = () => ({ width: stdout.columns || 80, height: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

function RunApp(props: { opened: Opened; stdout: NodeJS.WriteStream; theme: Theme; follow: boolean; pollMs: number }) {
  const { width, height } = useTerminalSize(props.stdout);
  const [browser, setBrowser] = useState<Browser | null>(() => (props.opened.run ? makeBrowser(props.opened.trace, props.opened.run, height, width, props.follow) : null));
  const [, redraw] = useState(0);
  const fail = useFail();
  useEffect(() => {
    browser?.resize(height, width);
    redraw((n) => n + 1);
  }, [browser, width, height]);
  useEffect(() => {
    if (!browser || !props.follow) return;
    const timer = setInterval(() => {
      try {
        if (browser.poll()) redraw((n) => n + 1);
      } catch (e) {
        clearInterval(timer);
        fail(e);
      }
    }, props.pollMs);
    return () => clearInterval(timer);
  }, [browser]);
  if (!browser) {
    return <RunPicker file={props.opened.trace.file} runs={props.opened.runs} width={width} height={height}
      onPick={(run) => setBrowser(makeBrowser(props.opened.trace, run, height, width, props.follow))} />;
  }
  return <RunView browser={browser} width={width} height={height} theme={props.theme} />;
}

function makeBrowser(trace: Trace, run: RunInfo, rows: number, cols: number, follow: boolean): Browser {
  const b = new Browser(new RunSource(trace, run), rows, cols);
  b.following = follow;
  if (follow) b.moveTo(b.count);
  return b;
}

function DiffApp(props: { diff: DiffBrowser; stdout: NodeJS.WriteStream; theme: Theme }) {
  const { width, height } = useTerminalSize(props.stdout);
  const [, redraw] = useState(0);
  useEffect(() => {
    props.diff.resize(height, width);
    redraw((n) => n + 1);
  }, [width, height]);
  return <DiffView diff={props.diff} width={width} height={height} theme={props.theme} />;
}

/** The diff view's state, its diff made with the progress shown. */
async function openDiff(a: Opened, b: Opened, stdout: NodeJS.WriteStream, opts: TuiOptions): Promise<DiffBrowser> {
  const bar = opts.progress?.('diff', a.run!.events + b.run!.events);
  try {
    return await DiffBrowser.open(a.trace, a.run!, b.trace, b.run!, stdout.rows || 24, stdout.columns || 80, { onProgress: (done) => bar?.update(done) });
  } finally {
    bar?.stop();
  }
}

const ALT_SCREEN_ON = '\x1b[?1049h\x1b[H';
const ALT_SCREEN_OFF = '\x1b[?1049l';

/** Open the browser; resolves when the user quits. */
export async function runTui(refs: readonly string[], opts: TuiOptions = {}): Promise<void> {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  if (refs.length === 0 || refs.length > 2) throw errors.usage('tui takes FILE[#RUN] for the run view, or A#RUN B#RUN for the diff view');
  if (refs.length === 2 && opts.follow) throw errors.usage('--follow opens one run, not a diff');
  const opened: Opened[] = [];
  try {
    for (const ref of refs) opened.push(await openRef(ref, refs.length === 2));
    if (!stdout.isTTY) throw errors.usage('tui draws on a terminal, and stdout is not one (use replay, diff or query for text)');
    const theme = themeFor();
    const diff = refs.length === 2 ? await openDiff(opened[0]!, opened[1]!, stdout, opts) : null;
    const tree = diff
      ? <DiffApp diff={diff} stdout={stdout} theme={theme} />
      : <RunApp opened={opened[0]!} stdout={stdout} theme={theme} follow={opts.follow ?? false} pollMs={opts.pollMs ?? 300} />;
    stdout.write(ALT_SCREEN_ON);
    try {
      const app = render(tree, { stdout: changedLinesOnly(stdout), stdin, exitOnCtrlC: false, patchConsole: false });
      await app.waitUntilExit();
    } finally {
      stdout.write(ALT_SCREEN_OFF);
    }
  } finally {
    const seen = new Set<Trace>();
    for (const o of opened) if (!seen.has(o.trace)) (seen.add(o.trace), o.trace.close());
  }
}
