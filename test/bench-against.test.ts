/**
 * `bench --against=DIR` passes the other build only the --skip names its help lists. commander wraps
 * an option's description to the terminal's width, so the names can sit on the lines after the
 * option's own: reading only its first line passed `--skip=review` alone, and the other build's
 * bench then spent minutes on the tui and the 100M-event recording.
 */
import { describe, expect, it } from 'vitest';
import { medianFigures, optionHelp } from '../src/cli/bench-against.js';
import { mmtrace } from './helpers/cli.js';

describe('the --skip names another build knows', () => {
  it('are read from every line of the option’s wrapped description, and from no other option', () => {
    const help = [
      'Options:',
      '  --events <n>     approximate events of the measured run (default: "10000000")',
      '  --skip <list>    figures not to measure (null in --json): review (a minute),',
      '                   tui, rss10m, rss100m (minutes)',
      '  --against <dir>  another checkout\'s root with a built dist/: run its bench',
      '                   first, then tui',
      '  -h, --help       display help for command',
    ].join('\n');
    const skip = optionHelp(help, '--skip');
    expect(skip).toMatch(/review/);
    expect(skip).toMatch(/rss100m/);
    expect(skip).not.toMatch(/another checkout/);
    expect(optionHelp(help, '--nosuch')).toBe('');
  });

  it('this build’s own help lists all four', () => {
    const r = mmtrace(['bench', '--help']);
    const skip = optionHelp(r.stdout, '--skip');
    for (const name of ['review', 'tui', 'rss10m', 'rss100m']) expect(skip, name).toMatch(new RegExp(`\\b${name}\\b`));
  });
});

describe('the figures of several rounds', () => {
  it('are each the median of its rounds: the middle one, or the mean of the middle two', () => {
    expect(medianFigures([{ a: 3, b: 10 }, { a: 1, b: 40 }, { a: 2, b: 20 }])).toEqual({ a: 2, b: 20 });
    expect(medianFigures([{ a: 3 }, { a: 1 }])).toEqual({ a: 2 });
  });

  it('keep a figure that is not a number in every round (skipped: null; the node) as the first round has it', () => {
    const docs = [{ tui: null, node: 'v20', options: ['--x'], n: 1 }, { tui: null, node: 'v20', options: ['--x'], n: 2 }, { tui: 5, node: 'v20', options: [], n: 3 }];
    expect(medianFigures(docs)).toEqual({ tui: null, node: 'v20', options: ['--x'], n: 2 });
  });
});
