/**
 * The diff view: the verdict and findings on top, the two runs side by side below, each column a
 * run view's event list with the events the alignment says differ flagged `!`.
 */
import { Box, Text } from 'ink';
import type { DiffBrowser } from '../data/diff-browser.js';
import { EventRows, fit, HelpScreen, PromptLine, StatusLine } from './parts.js';
import type { Theme } from './theme.js';
import { useKeys } from './use-keys.js';

export const DIFF_HINT = '] [ divergence  Tab column/findings  Enter jump to finding  j/k : / n  ? help  q quit';

export function DiffFrame(props: { diff: DiffBrowser; width: number; height: number; theme: Theme }) {
  const { diff: d, width, theme } = props;
  if (d.a.help || d.b.help) {
    return <HelpScreen width={width} height={props.height - 1} />;
  }
  const half = Math.floor((width - 1) / 2);
  const findings = d.report.findings;
  const shownFindings = findings.slice(Math.max(0, Math.min(d.findingSelected - 2, findings.length - (d.findingsRows - 1))));
  const column = (side: 'a' | 'b') => {
    const b = side === 'a' ? d.a : d.b;
    const run = b.source.run;
    const focused = d.focus === side;
    return (
      <Box flexDirection="column" width={half}>
        <Text bold inverse={focused} wrap="truncate">{fit(`${side.toUpperCase()} ${b.source.trace.file}#${run.name}  ${b.cursor}/${b.count}`, half)}</Text>
        <EventRows rows={b.rows()} cursor={b.cursor} width={half} height={b.layout.listRows} theme={theme} focused={focused}
          diverging={side === 'a' ? d.divergingA : d.divergingB} />
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
