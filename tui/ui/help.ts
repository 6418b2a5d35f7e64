/**
 * The keys, once: the help screen (`?`) prints this, and the README's key table is checked against
 * it (test/tui-help.test.ts).
 */
export const KEYS: readonly (readonly [string, string])[] = [
  ['j k  Up Down', 'next / previous event (in the state panel: next / previous item)'],
  ['PgDn PgUp  Space b', 'page down / up'],
  ['g G  Home End', 'first / last event'],
  [':N  :SELECTOR', 'jump to event N, or any --until selector (kind=copy,task=monitor,n=2; first-warning; end)'],
  ['/QUERY  n N', 'search (kind, family, task, addr=, req=, FIELD=VALUE, text); next / previous match'],
  ['f QUERY  F', 'filter the list (as search, without text); clear the filter'],
  ['m  \'', 'mark the event (again: unmark); jump to the next mark'],
  ['w W', 'next / previous warning (the check family)'],
  ['r R', 'next / previous request boundary'],
  ['o', 'where from: the event that last set the selected state item, or the earlier event of the same object'],
  ['%', 'the other half: acquire/release, wait/waker, get/put, call/return, begin/end'],
  ['Ctrl-o', 'back along the jumps'],
  [';SQL', 'read-only SQL over the file; Enter on a row with a seq column jumps there'],
  ['] [', 'diff view: next / previous divergence'],
  ['Enter', 'diff view: jump to the selected finding\'s events in both runs'],
  ['Tab', 'next panel (event list, state, lanes; in the diff view: run A, run B, findings)'],
  ['?', 'this help (any key closes it)'],
  ['q  Ctrl-c', 'quit'],
];

export const LANE_LEGEND = 'M/m mmap_lock W/R  w waits mmap_lock  v VMA lock  p page-table lock  s spins  o other lock  r RCU  z blocked  - runnable';

export function helpLines(): string[] {
  const width = Math.max(...KEYS.map(([k]) => k.length));
  return ['mmtrace tui: keys', '', ...KEYS.map(([k, what]) => `  ${k.padEnd(width)}  ${what}`), '', `lanes: ${LANE_LEGEND}`];
}
