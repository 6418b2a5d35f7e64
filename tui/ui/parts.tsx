/**
 * The pieces both views draw: a page of events, the lock lanes, the state panel, the status and
 * prompt lines, the SQL pane and the help screen. Each takes what to draw and a width; none holds
 * state.
 */
import { Box, Text } from 'ink';
import type { Lanes } from '../data/lanes.js';
import type { ListRow, SqlPane } from '../data/browser.js';
import type { PanelLine } from '../data/state-items.js';
import { helpLines, LANE_LEGEND } from './help.js';
import type { Theme } from './theme.js';

/**
 * `n` blank lines: every panel is as tall as the layout says, so the frame fills the terminal. A
 * blank line is one space, not a row of them: ink lays the panels out by their boxes' widths and
 * ends every line where its text ends, and it reads every character of every line of every frame.
 */
function padding(n: number) {
  return Array.from({ length: Math.max(0, n) }, (_, i) => <Text key={`pad${i}`}> </Text>);
}

/**
 * Cut a line to at most `width` columns (the list never wraps), marking the cut with `~`. Lines
 * are not padded: ink drops trailing spaces, and each space costs it as much as a letter per frame.
 * An empty line is one space: ink gives a Text with no text no row, and the frame would come out
 * shorter than the terminal.
 */
export function cut(text: string, width: number): string {
  if (width <= 0) return '';
  if (text === '') return ' ';
  return text.length > width ? text.slice(0, Math.max(0, width - 1)) + '~' : text;
}

/** Cut or pad a line to exactly `width` columns: for a line drawn in inverse, a bar across the panel. */
export function fit(text: string, width: number): string {
  return cut(text, width).padEnd(Math.max(0, width));
}

/**
 * An event as a list line: the cursor's `>`, a flag (`*` marked, `!` diverging in the diff view),
 * seq, tick (unless the diff view's narrow columns leave it out) and task, then kind and fields
 * indented by call depth.
 */
export function eventLine(r: ListRow, seqWidth: number, onCursor: boolean, flag: string, tick = true): string {
  const head = `${onCursor ? '>' : ' '}${flag}${String(r.seq).padStart(seqWidth)} ${tick ? `${String(r.tick).padStart(7)} ` : ''}${r.task.padEnd(8).slice(0, 8)} `;
  return `${head}${'  '.repeat(Math.min(r.depth, 12))}${r.kind} ${r.fields}`;
}

/** Width of the seq column for these rows (at least 5). */
export function seqWidthOf(rows: readonly ({ seq: number } | null)[]): number {
  return Math.max(5, ...rows.map((r) => String(r?.seq ?? 0).length));
}

export function EventRows(props: { rows: readonly ListRow[]; cursor: number; width: number; height: number; theme: Theme; focused: boolean }) {
  const { rows, cursor, width, theme } = props;
  const seqWidth = seqWidthOf(rows.slice(-1));
  const lines = rows.map((r) => {
    const onCursor = r.seq === cursor;
    const line = eventLine(r, seqWidth, onCursor, r.marked ? '*' : ' ');
    const text = onCursor ? fit(line, width) : cut(line, width);
    return (
      <Text key={r.seq} inverse={onCursor && props.focused} bold={onCursor} color={onCursor ? undefined : theme.family(r.family)} wrap="truncate">
        {text}
      </Text>
    );
  });
  for (let i = rows.length; i < props.height; i++) lines.push(<Text key={`pad${i}`}>{i === rows.length ? cut('  (end of run)', width) : ' '}</Text>);
  return <Box flexDirection="column" width={width}>{lines}</Box>;
}

export function LaneRows(props: { lanes: Lanes; taskName: (tid: number) => string; width: number; height: number; theme: Theme; focused: boolean }) {
  const { lanes, width, theme } = props;
  const label = 12;
  const marker = ' '.repeat(label + lanes.cursor) + 'v';
  // the legend takes the last row when there is a row to spare (it is in the help too)
  const legend = lanes.lanes.length <= props.height - 2;
  const shown = lanes.lanes.slice(0, Math.max(0, props.height - (legend ? 2 : 1)));
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate" bold={props.focused}>{cut(`${'lanes'.padEnd(label)}${marker.slice(label)}  #${lanes.seqs[0] ?? ''}..#${lanes.seqs[lanes.seqs.length - 1] ?? ''}`, width)}</Text>
      {shown.map((l) => (
        <Text key={l.tid} wrap="truncate">
          {fit(props.taskName(l.tid), label - 1).padEnd(label)}
          {runs(l.cells, lanes.cursor).map((r, i) => (
            <Text key={i} color={theme.lane(r.char)} inverse={r.cursor}>{r.text}</Text>
          ))}
        </Text>
      ))}
      {legend ? <Text wrap="truncate" dimColor>{cut(LANE_LEGEND, width)}</Text> : null}
      {padding(props.height - 1 - shown.length - (legend ? 1 : 0))}
    </Box>
  );
}

/**
 * A lane cut into runs of one character (and the cursor's cell alone): a few spans per lane for
 * the renderer to lay out instead of one per column.
 */
function runs(cells: string, cursor: number): { char: string; text: string; cursor: boolean }[] {
  const out: { char: string; text: string; cursor: boolean }[] = [];
  for (let i = 0; i < cells.length; ) {
    const char = cells[i]!;
    let j = i + 1;
    if (i !== cursor) while (j < cells.length && j !== cursor && cells[j] === char) j++;
    out.push({ char, text: cells.slice(i, j), cursor: i === cursor });
    i = j;
  }
  return out;
}

export function StatePanel(props: { lines: readonly PanelLine[]; selected: number; width: number; height: number; focused: boolean; theme: Theme }) {
  const { lines, selected, width, height } = props;
  // keep the selected item in view
  const start = Math.max(0, Math.min(selected - Math.floor(height / 2), lines.length - height));
  const shown = lines.slice(start, start + height);
  return (
    <Box flexDirection="column" width={width}>
      {shown.map((l, i) => {
        const index = start + i;
        const isSel = props.focused && index === selected;
        const mark = l.changed ? '*' : ' ';
        const text = l.key === null ? cut(l.text, width) : (isSel ? fit : cut)(`${isSel ? '>' : ' '}${mark}${l.text}`, width);
        return (
          <Text key={index} bold={l.key === null || isSel} inverse={isSel} color={l.changed && props.theme.color ? 'yellowBright' : undefined} wrap="truncate">
            {text}
          </Text>
        );
      })}
      {padding(height - shown.length)}
    </Box>
  );
}

export function SqlRows(props: { pane: SqlPane; width: number; height: number }) {
  const { pane, width, height } = props;
  const cols = pane.result.columns;
  const rows = pane.result.rows;
  const widths = cols.map((c, i) => Math.min(24, Math.max(c.length, ...rows.slice(0, 200).map((r) => String(r[i] ?? 'NULL').length))));
  const cell = (v: unknown, i: number) => fit(String(v ?? 'NULL'), widths[i]!);
  const start = Math.max(0, Math.min(pane.selected - Math.floor((height - 2) / 2), rows.length - (height - 2)));
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">{cut(`; ${pane.sql}  (${rows.length}${pane.cut ? '+' : ''} rows)`, width)}</Text>
      <Text underline wrap="truncate">{fit(cols.map((c, i) => fit(c, widths[i]!)).join(' '), width)}</Text>
      {rows.slice(start, start + height - 2).map((r, i) => (
        <Text key={start + i} inverse={start + i === pane.selected} wrap="truncate">{(start + i === pane.selected ? fit : cut)(r.map(cell).join(' '), width)}</Text>
      ))}
      {padding(height - 2 - Math.min(rows.length - start, height - 2))}
    </Box>
  );
}

export function HelpScreen(props: { width: number; height: number }) {
  return (
    <Box flexDirection="column" width={props.width}>
      {helpLines().slice(0, props.height).map((l, i) => <Text key={i} wrap="truncate">{cut(l, props.width)}</Text>)}
      {padding(props.height - helpLines().length)}
    </Box>
  );
}

export function StatusLine(props: { text: string; width: number; theme: Theme }) {
  return <Text inverse wrap="truncate">{fit(props.text, props.width)}</Text>;
}

export function PromptLine(props: { prompt: { kind: string; text: string } | null; message: string; width: number; hint: string }) {
  const text = props.prompt ? `${props.prompt.kind}${props.prompt.text}_` : props.message || props.hint;
  return <Text wrap="truncate" dimColor={!props.prompt && !props.message}>{cut(text, props.width)}</Text>;
}
