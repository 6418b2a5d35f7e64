/**
 * The run view: the event list, the lock lanes and the state panel around one cursor, the status
 * line and the prompt. All state lives in the Browser; this draws it and hands it keys.
 */
import { Box } from 'ink';
import type { Browser } from '../data/browser.js';
import { EventRows, HelpScreen, LaneRows, PromptLine, SqlRows, StatePanel, StatusLine } from './parts.js';
import type { Theme } from './theme.js';
import { useKeys } from './use-keys.js';

export const RUN_HINT = '? help  j/k move  : jump  / search  f filter  o where from  % match  ; SQL  Tab panel  q quit';

export function RunFrame(props: { browser: Browser; width: number; height: number; theme: Theme }) {
  const { browser: b, width, theme } = props;
  const layout = b.layout;
  if (b.help) {
    return (
      <Box flexDirection="column">
        <HelpScreen width={width} height={props.height - 1} />
        <PromptLine prompt={null} message="any key closes the help" width={width} hint="" />
      </Box>
    );
  }
  const listWidth = layout.sideBySide ? width - Math.min(80, Math.floor(width * 0.4)) : width;
  const stateWidth = layout.sideBySide ? width - listWidth - 1 : width;
  const rows = b.rows();
  const main = b.sql
    ? <SqlRows pane={b.sql} width={listWidth} height={layout.listRows} />
    : <EventRows rows={rows} cursor={b.cursor} width={listWidth} height={layout.listRows} theme={theme} focused={b.focus === 'list'} />;
  const lanes = <LaneRows lanes={b.lanes()} taskName={(t) => b.source.taskName(t)} width={listWidth} height={layout.laneRows} theme={theme} focused={b.focus === 'lanes'} />;
  const state = <StatePanel lines={b.panel()} selected={b.stateSelected} width={stateWidth} height={layout.stateRows} focused={b.focus === 'state'} theme={theme} />;
  return (
    <Box flexDirection="column">
      {layout.sideBySide ? (
        <Box flexDirection="row">
          <Box flexDirection="column" width={listWidth}>{main}{lanes}</Box>
          <Box width={1} />
          {state}
        </Box>
      ) : (
        <Box flexDirection="column">{main}{lanes}{state}</Box>
      )}
      <StatusLine text={b.status()} width={width} theme={theme} />
      <PromptLine prompt={b.prompt} message={b.message} width={width} hint={RUN_HINT} />
    </Box>
  );
}

/** The run view as an app: keys go to the Browser, then the frame is drawn again. */
export function RunView(props: { browser: Browser; width: number; height: number; theme: Theme }) {
  useKeys(props.browser);
  return <RunFrame {...props} />;
}
