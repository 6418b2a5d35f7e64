/**
 * The keys, once: the help screen (`?`) prints this, and test/tui-help.test.tsx checks that the
 * README's key table and its captured help screen say the same.
 */
export const KEYS: readonly (readonly [string, string])[] = [
  ['j k  Up Down', 'next / previous event (or state item)'],
  ['PgDn PgUp  Space b', 'page down / up'],
  ['g G  Home End', 'first / last event'],
  [':N  :SELECTOR', 'jump: event N or any --until selector'],
  ['/QUERY  n N', 'search kind, task, FIELD=V, text; next, previous'],
  ['f QUERY  F', 'filter by task, kind, family, addr=, req=; clear'],
  ["m  '", 'mark (again: unmark); jump to the next mark'],
  ['w W', 'next / previous warning'],
  ['r R', 'next / previous request boundary'],
  ['o', 'where from: the event that last set the item'],
  ['%', 'the other half: acquire/release, wait/waker...'],
  ['Ctrl-o', 'back along the jumps'],
  [';SQL', 'read-only SQL; Enter on a row jumps to its seq'],
  ['] [', 'diff view: next / previous divergence'],
  ['Enter', "diff view: jump to the finding's events"],
  ['Tab', 'next panel: list, state, lanes (diff: A, B, findings)'],
  ['?', 'this help; any key closes it'],
  ['q  Ctrl-c', 'quit'],
];

export const LANE_LEGEND = 'M/m mmap_lock W/R  w waits  v VMA  p PTL  s spins  o other  r RCU  z blocked';

export function helpLines(): string[] {
  const width = Math.max(...KEYS.map(([k]) => k.length));
  return ['Keys of the terminal browser (mmtrace tui)', '', ...KEYS.map(([k, what]) => `  ${k.padEnd(width)}  ${what}`), '', LANE_LEGEND];
}
