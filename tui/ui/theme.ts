/**
 * Colours, and what stands in for them without: with NO_COLOR set (https://no-color.org) nothing is
 * coloured, and what colour would say is said by characters (the cursor's `>`, a changed item's `*`,
 * a divergence's `!`, lane letters).
 */
export interface Theme {
  color: boolean;
  family(family: string): string | undefined;
  lane(char: string): string | undefined;
}

const FAMILY_COLOURS: Record<string, string> = {
  lock: 'red', pagetable: 'green', folio: 'yellow', copy: 'cyan', vma: 'magenta',
  call: 'gray', request: 'blueBright', sched: 'white', check: 'redBright',
};

const LANE_COLOURS: Record<string, string> = {
  M: 'red', m: 'red', w: 'redBright', v: 'magenta', p: 'green', s: 'greenBright', o: 'yellow', r: 'cyan', z: 'gray', '-': 'gray',
};

/** The theme for this environment: colour unless NO_COLOR is set (to anything but empty). */
export function themeFor(env: NodeJS.ProcessEnv = process.env): Theme {
  const color = !env.NO_COLOR;
  return {
    color,
    family: (f) => (color ? FAMILY_COLOURS[f] : undefined),
    lane: (c) => (color ? LANE_COLOURS[c] : undefined),
  };
}
