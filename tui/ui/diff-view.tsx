/**
 * The diff view: the verdict and findings on top, the two runs side by side below, aligned as
 * `mmtrace diff` aligns them: each row an event of A beside its matched event of B, or an event of
 * one run (flagged `!`) beside a gap (dashes); `~` flags the events of a stretch the diff did not
 * align (both sides differ, unpaired).
 */
import { Box, Text } from 'ink';
import type { DiffBrowser, PairRow } from '../data/diff-browser.js';
import type { ListRow } from '../data/browser.js';
import { eventLine, fit, HelpScreen, PromptLine, seqWidthOf, StatusLine } from './parts.js';
import type { Theme } from './theme.js';
import { useKeys } from './use-keys.js';

export const DIFF_HINT = '] [ divergence  Tab column/findings  Enter jump to finding  j/k : / n  ? help  q quit';

/** Columns narrower than this leave out the tick (the status line has the cursor's), for the kind and fields. */
const TICK_MIN_WIDTH = 70;

/** A gap: the other run's event has no match in this one. Dashes where seq, tick and task would be. */
function gapLine(seqWidth: number, onCursor: boolean, tick: boolean): string {
  return `${onCursor ? '>' : ' '} ${'-'.repeat(seqWidth)} ${tick ? `${'-'.repeat(7)} ` : ''}${'-'.repeat(8)}`;
}

/** The flag of a side's event on a row: `!` only in this run, `~` unaligned, else `*` when marked. */
function flagOf(p: PairRow, e: ListRow): string {
  if (p.op === '-' || p.op === '+') return '!';
  if (p.op === '~') return '~';
  return e.marked ? '*' : ' ';
}

function PairColumn(props: { page: PairRow[]; side: 'a' | 'b'; cursor: number; width: number; height: number; theme: Theme; focused: boolean }) {
  const { page, side, width, theme } = props;
  const seqWidth = seqWidthOf(page.map((p) => p[side]));
  const tick = width >= TICK_MIN_WIDTH;
  const lines = page.map((p) => {
    const e = p[side];
    const onCursor = p.row === props.cursor;
    const diverging = p.op !== ' ';
    const text = e ? eventLine(e, seqWidth, onCursor, flagOf(p, e), tick) : gapLine(seqWidth, onCursor, tick);
    const color = onCursor || !theme.color ? undefined : diverging ? 'yellowBright' : e ? theme.family(e.family) : undefined;
    return (
      <Text key={p.row} inverse={onCursor && props.focused} bold={onCursor} dimColor={!e && !onCursor} color={color} wrap="truncate">
        {fit(text, width)}
      </Text>
    );
  });
  for (let i = page.length; i < props.height; i++) lines.push(<Text key={`pad${i}`}>{fit(i === page.length ? '  (end of the alignment)' : '', width)}</Text>);
  return <Box flexDirection="column" width={width}>{lines}</Box>;
}

export function DiffFrame(props: { diff: DiffBrowser; width: number; height: number; theme: Theme }) {
  const { diff: d, width, theme } = props;
  if (d.a.help || d.b.help) {
    return <HelpScreen width={width} height={props.height - 1} />;
  }
  const half = Math.floor((width - 1) / 2);
  const findings = d.report.findings;
  const shownFindings = findings.slice(Math.max(0, Math.min(d.findingSelected - 2, findings.length - (d.findingsRows - 1))));
  const page = d.page();
  const column = (side: 'a' | 'b') => {
    const b = side === 'a' ? d.a : d.b;
    const focused = d.focus === side;
    return (
      <Box flexDirection="column" width={half}>
        <Text bold inverse={focused} wrap="truncate">{fit(`${side.toUpperCase()} ${b.source.trace.file}#${b.source.run.name}  ${b.cursor}/${b.count}`, half)}</Text>
        <PairColumn page={page} side={side} cursor={d.cursor} width={half} height={d.listRows} theme={theme} focused={focused} />
      </Box>
    );
  };
  const focusedBrowser = d.focused;
  return (
    <Box flexDirection="column">
      <Text bold color={theme.color ? (d.report.verdict === 'equivalent' ? 'green' : 'red') : undefined} wrap="truncate">{fit(d.verdictLine(), width)}</Text>
      {shownFindings.slice(0, d.findingsRows - 1).map((f) => {
        const i = findings.indexOf(f);
        const sel = i === d.findingSelected;
        return (
          <Text key={i} inverse={sel && d.focus === 'findings'} wrap="truncate">
            {fit(`${sel ? '>' : ' '} [${f.severity}] ${f.kind}${f.request ? ` ${f.request}` : ''}: ${f.message}`, width)}
          </Text>
        );
      })}
      {findings.length === 0 ? <Text wrap="truncate">{fit('  (no findings)', width)}</Text> : null}
      <Box flexDirection="row">
        {column('a')}
        <Box width={1} />
        {column('b')}
      </Box>
      <StatusLine text={focusedBrowser.status()} width={width} theme={theme} />
      <PromptLine prompt={focusedBrowser.prompt} message={d.message || focusedBrowser.message} width={width} hint={DIFF_HINT} />
    </Box>
  );
}

export function DiffView(props: { diff: DiffBrowser; width: number; height: number; theme: Theme }) {
  useKeys(props.diff);
  return <DiffFrame {...props} />;
}
