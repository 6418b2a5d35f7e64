/**
 * The layer rules (.dependency-cruiser.cjs, DESIGN.md "The layers") hold for the tree, and they bite:
 * a throwaway tree with one import of each forbidden shape fails the check with exactly those
 * violations, and the same tree with its imports pointing down passes.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cruise as depcruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const OPTIONS = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));

/** Cruise `src/` (and `tui/`, when there is one) of `root` with the project's rules: the violations, as text. */
async function cruise(root: string): Promise<string[]> {
  const tsConfig = join(root, 'tsconfig.json');
  const roots = ['src', 'tui'].filter((d) => existsSync(join(root, d)));
  const result = await depcruise(roots, { ...OPTIONS, baseDir: root, tsConfig: { fileName: tsConfig } }, {},
    { tsConfig: extractTSConfig(tsConfig) });
  return (result.output as ICruiseResult).summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
}

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A tree of TypeScript modules: path -> source. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mmtrace-layers-'));
  made.push(root);
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
    include: ['src', 'test', 'tui'],
  }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** One leaf module per layer, each exporting a constant. */
const LEAVES: Record<string, string> = {
  'src/errors.ts': 'export const errors = 1;\n',
  'src/store/db.ts': "import { errors } from '../errors.js';\nexport const db = errors;\n",
  'src/trace/vocab.ts': 'export const vocab = 1;\nexport type Row = number[];\n',
  'src/sim/sim.ts': 'export const sim = 1;\nexport type Task = { tid: number };\n',
  'src/linux/mm.ts': 'export const mm = 1;\n',
  'src/workloads/race.ts': 'export const race = 1;\n',
  'src/reduce/vmas.ts': 'export const vmas = 1;\n',
  'src/replay/projection.ts': 'export const projection = 1;\n',
  'src/cli/main.ts': 'export const main = 1;\n',
  'test/helpers/harness.ts': 'export const harness = 1;\n',
};

describe('layer rules', () => {
  it('imports that point down pass', async () => {
    const root = tree({
      ...LEAVES,
      'src/cli/list.ts': "import { projection } from '../replay/projection.js';\nimport { db } from '../store/db.js';\nexport const list = projection + db;\n",
      'src/replay/reexec.ts': "import { race } from '../workloads/race.js';\nimport { vmas } from '../reduce/vmas.js';\nexport const reexec = race + vmas;\n",
      'src/reduce/locks.ts': "import { vocab } from '../trace/vocab.js';\nexport const locks = vocab;\n",
      'src/workloads/poll.ts': "import { mm } from '../linux/mm.js';\nexport const poll = mm;\n",
      'src/linux/gup.ts': "import { sim } from '../sim/sim.js';\nimport { vocab } from '../trace/vocab.js';\nexport const gup = sim + vocab;\n",
      'src/trace/reader.ts': "import { db } from '../store/db.js';\nexport const reader = db;\n",
      'src/cli/tui.ts': "import { app } from '../../tui/app.js';\nexport const tui = app;\n",
      'tui/app.ts': "import { projection } from '../src/replay/projection.js';\nexport const app = projection;\n",
      'src/api/workload.ts': "import { race } from '../workloads/race.js';\nimport { mm } from '../linux/mm.js';\nexport { race, mm };\n",
      'src/modules/load.ts': "import { race } from '../workloads/race.js';\nexport const load = race;\n",
    });
    expect(await cruise(root)).toEqual([]);
  });

  it('an upward import, a type-only one, an import of the tests and a cycle each fail', async () => {
    const root = tree({
      ...LEAVES,
      'src/store/kinds.ts': "import { vocab } from '../trace/vocab.js';\nexport const kinds = vocab;\n",
      'src/trace/stamp.ts': "import type { Task } from '../sim/sim.js';\nexport const stamp = (t: Task) => t.tid;\n",
      'src/linux/exec.ts': "import { race } from '../workloads/race.js';\nexport const exec = race;\n",
      'src/sim/store.ts': "import { db } from '../store/db.js';\nexport const stored = db;\n",
      'src/reduce/model.ts': "import { projection } from '../replay/projection.js';\nexport const model = projection;\n",
      'src/replay/render.ts': "import { main } from '../cli/main.js';\nexport const render = main;\n",
      'src/diff/fixture.ts': "import { harness } from '../../test/helpers/harness.js';\nexport const fixture = harness;\n",
      'src/diff/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/diff/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'src/api/linux.ts': "import { projection } from '../replay/projection.js';\nexport const linux = projection;\n",
      'src/modules/registry.ts': "import { linux } from '../api/linux.js';\nexport const registry = linux;\n",
      'tui/app.ts': "import { projection } from '../src/replay/projection.js';\nimport { mm } from '../src/linux/mm.js';\nexport const app = projection + mm;\n",
      'src/replay/browse.ts': "import { app } from '../../tui/app.js';\nexport const browse = app;\n",
    });
    expect(await cruise(root)).toEqual([
      'api-is-the-model-only: src/api/linux.ts -> src/replay/projection.ts',
      'consumers-below-cli: src/replay/render.ts -> src/cli/main.ts',
      'linux-below-workloads: src/linux/exec.ts -> src/workloads/race.ts',
      'model-knows-no-storage: src/sim/store.ts -> src/store/db.ts',
      'no-circular: src/diff/a.ts -> src/diff/b.ts',
      'nothing-imports-api: src/modules/registry.ts -> src/api/linux.ts',
      'only-cli-opens-the-browser: src/replay/browse.ts -> tui/app.ts',
      'reduce-reads-events-only: src/reduce/model.ts -> src/replay/projection.ts',
      'src-imports-no-tests: src/diff/fixture.ts -> test/helpers/harness.ts',
      'store-is-the-bottom: src/store/kinds.ts -> src/trace/vocab.ts',
      'trace-below-sim: src/trace/stamp.ts -> src/sim/sim.ts',
      'tui-reads-through-store-trace-reduce-replay-diff: tui/app.ts -> src/linux/mm.ts',
    ]);
  });

  it('hold for this tree', async () => {
    expect(await cruise(ROOT)).toEqual([]);
  });
});
