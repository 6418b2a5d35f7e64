/**
 * Workload and access-path modules loaded from a file (issue 15), through the CLI from a fresh
 * process, in a temporary folder outside the project (no node_modules near the modules): a
 * workload module of a read racing mremap recorded, diffed, explored and verified; the README's v2
 * path module equivalent to gup on cross-vma-race where v1 is different; `mmtrace new` starting
 * files that record as they are; and every load error in one FILE:LINE line with exit 2.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inSandbox, inSandboxWhile } from '../src/modules/sandbox.js';
import { mmtrace, tempDir } from './helpers/cli.js';

/** A workload module of a read racing mremap() of the VMA it reads, as a user would write it. */
const MREMAP_RACE = `
import { MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PROT_READ, sys_mremap } from 'mmtrace/linux';
import {
  Completion, type Gate, type Gen, type Workload, type WorkloadContext, by, complete_all, map_filled, num, outsider,
  remote_read, spawn_process, switchParam, thread, wait_for_completion,
} from 'mmtrace/workload';

const AREA = 0x30000000;
const copiedFirst = by('reader', 'copy', (e) => e.addr >= AREA && e.addr < AREA + PAGE_SIZE);

const race: Workload = {
  name: 'read-vs-mremap',
  description: 'a read of three pages while the target moves them',
  params: { directed: switchParam(1, 'move right after the first page was copied') },
  schedule(ctx: WorkloadContext): Gate[] {
    if (!num(ctx, 'directed')) return [];
    return [
      { task: 'mover', until: copiedFirst },
      { task: 'reader', after: copiedFirst, until: by('mover', 'task_exit') },
    ];
  },
  *boot(): Gen {
    const target = yield* spawn_process('target', ['/usr/bin/target'], ['HOME=/']);
    const ready = new Completion();
    thread(target, 'setup', function* () {
      yield* map_filled(target, AREA, 3, PROT_READ, 'R');
      yield* complete_all(ready);
    });
    thread(target, 'mover', function* () {
      yield* wait_for_completion(ready);
      yield* sys_mremap(target.mm, AREA, 3 * PAGE_SIZE, 3 * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, 0x60000000);
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(target, AREA, 3 * PAGE_SIZE);
    });
  },
};
export default race;
`;

function header(file: string, run: string): { workload: string; path: string; modules: string } {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT workload, path, modules FROM runs WHERE name = ?').get(run) as { workload: string; path: string; modules: string };
  } finally {
    db.close();
  }
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** One line on stderr, naming `file` and a line number, and exit 2. */
function expectOneLineAt(r: { status: number; stderr: string }, file: string, line: number, what: RegExp): void {
  expect(r.status).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^mmtrace: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}: `));
  expect(r.stderr).toMatch(what);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('a workload module', () => {
  it('records on gup and fast, diffs, explores and replays with --verify, from a folder of its own', { timeout: 120_000 }, () => {
    const dir = tempDir();
    const file = join(dir, 'read-vs-mremap.ts');
    writeFileSync(file, MREMAP_RACE);
    const rec = mmtrace(['record', './read-vs-mremap.ts', '--path=gup,fast', '--json'], { cwd: dir });
    expect(rec.stderr).toBe('');
    expect(rec.status).toBe(0);
    const runs = JSON.parse(rec.stdout).runs as { name: string; status: string; requests: number }[];
    expect(runs.map((r) => [r.name, r.status, r.requests])).toEqual([['gup', 'complete', 1], ['fast', 'complete', 1]]);
    // The default trace file is named after the workload; the header names the module and its source.
    const trace = join(dir, 'traces', 'read-vs-mremap.db');
    const gup = header(trace, 'gup');
    expect(gup.workload).toBe(file);
    expect(gup.path).toBe('gup');
    expect(JSON.parse(gup.modules)).toEqual({ [file]: sha256(file) });

    const diff = mmtrace(['diff', `${trace}#gup`, `${trace}#fast`, '--json'], { cwd: dir });
    expect([0, 1]).toContain(diff.status);
    expect(JSON.parse(diff.stdout).requests).toHaveLength(1);

    // check reads the log alone: v1 skips FOLL_TOUCH, so the fast run's reads leave the folios unaged
    const checked = mmtrace(['check', trace, '--json'], { cwd: dir });
    expect(checked.status).toBe(1);
    const checkedRuns = JSON.parse(checked.stdout).runs as { run: string; violations: { checker: string }[] }[];
    expect(checkedRuns).toHaveLength(2);
    expect(checkedRuns[1]!.violations.map((v) => v.checker)).toContain('aging');

    for (const run of ['gup', 'fast']) {
      const verify = mmtrace(['replay', `${trace}#${run}`, '--verify'], { cwd: dir });
      expect(verify.status).toBe(0);
      expect(verify.stderr).toMatch(/re-executed and verified \d+ events/);
    }

    // Two workers: each loads the module itself.
    const explored = mmtrace(['explore', './read-vs-mremap.ts', '--path=fast', '--seeds=150', '--workers=2', '--all', '--json',
      '--keep=traces/explore.db'], { cwd: dir });
    expect([0, 1]).toContain(explored.status);
    const summary = JSON.parse(explored.stdout);
    expect(summary.workload).toBe('read-vs-mremap');
    expect(summary.schedules).toBe(150);
    // v1 skips FOLL_TOUCH: aging finds it on this module too, and the kept run must replay.
    expect(summary.violations.length).toBeGreaterThan(0);
    // A kept violation is a run of the module like any other: it re-executes as recorded.
    for (const v of summary.violations as { run: string }[]) {
      expect(mmtrace(['replay', v.run, '--verify'], { cwd: dir }).status).toBe(0);
    }

    // Re-execution finds the module again, or says in one line which file is missing or changed.
    writeFileSync(file, `${MREMAP_RACE}\n// edited\n`);
    const changed = mmtrace(['replay', `${trace}#gup`, '--verify'], { cwd: dir });
    expect(changed.status).toBe(2);
    expect(changed.stderr).toMatch(new RegExp(`^mmtrace: ${file}: changed since run gup was recorded .*\\n$`));
    renameSync(file, `${file}.moved`);
    const missing = mmtrace(['replay', `${trace}#gup`, '--verify'], { cwd: dir });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(new RegExp(`^mmtrace: ${file}: no such module file; run gup was recorded with it .*\\n$`));
    // Projection needs no module.
    expect(mmtrace(['replay', `${trace}#gup`], { cwd: dir }).status).toBe(0);
  });
});

describe('a path module', () => {
  it("the README's v2 (v1 plus the single-VMA check) is equivalent to gup on cross-vma-race, v1 is not", { timeout: 60_000 }, () => {
    const dir = tempDir();
    expect(mmtrace(['new', 'path', 'my-v2'], { cwd: dir }).status).toBe(0);
    const v1 = readFileSync(join(dir, 'my-v2.ts'), 'utf8');
    writeFileSync(join(dir, 'my-v1.ts'), v1);
    const anchor = '  if (!readable) return false;\n';
    expect(v1).toContain(anchor);
    writeFileSync(join(dir, 'my-v2.ts'), v1.replace(anchor, `${anchor}  if (addr + len > vma.vm_end) return false;\n`));

    const rec = mmtrace(['record', 'cross-vma-race', '--path=gup,fast,./my-v1.ts,./my-v2.ts', '--out=v2.db', '--json'], { cwd: dir });
    expect(rec.status).toBe(0);
    const runs = JSON.parse(rec.stdout).runs as { name: string; finalHash: string }[];
    expect(runs.map((r) => r.name)).toEqual(['gup', 'fast', 'my-v1', 'my-v2']);
    // The starting file is v1 as the built-in fast path has it: the same run, event for event.
    expect(runs[2]!.finalHash).toBe(runs[1]!.finalHash);
    expect(header(join(dir, 'v2.db'), 'my-v2').path).toBe(join(dir, 'my-v2.ts'));

    const v2 = mmtrace(['diff', 'v2.db#gup', 'v2.db#my-v2'], { cwd: dir });
    expect(v2.stdout).toMatch(/VERDICT: equivalent/);
    expect(v2.status).toBe(0);
    const v1Diff = mmtrace(['diff', 'v2.db#gup', 'v2.db#my-v1', '--json'], { cwd: dir });
    expect(v1Diff.status).toBe(1);
    expect(JSON.parse(v1Diff.stdout).findings.map((f: { kind: string }) => f.kind)).toContain('mixed-vmas');

    const verify = mmtrace(['replay', 'v2.db#my-v2', '--verify'], { cwd: dir });
    expect(verify.status).toBe(0);
  });
});

describe('mmtrace new', () => {
  it('writes a workload module that records as it is, and never overwrites a file', { timeout: 60_000 }, () => {
    const dir = tempDir();
    const made = mmtrace(['new', 'workload', 'my-race', '--out=race.ts', '--json'], { cwd: dir });
    expect(made.status).toBe(0);
    expect(JSON.parse(made.stdout).next[0]).toBe('npx mmtrace record ./race.ts --path=gup,fast');
    const rec = mmtrace(['record', './race.ts', '--path=gup,fast'], { cwd: dir });
    expect(rec.stderr).toBe('');
    expect(rec.status).toBe(0);
    expect(existsSync(join(dir, 'traces', 'my-race.db'))).toBe(true);

    const again = mmtrace(['new', 'workload', 'other', '--out=race.ts'], { cwd: dir });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^mmtrace: race\.ts exists already/);
    expect(mmtrace(['new', 'path', 'fast'], { cwd: dir }).stderr).toMatch(/is a built-in path/);
    expect(mmtrace(['new', 'workload', '../x'], { cwd: dir }).status).toBe(2);
    const nowhere = mmtrace(['new', 'path', 'my-v3', '--out=no/such/dir/my-v3.ts'], { cwd: dir });
    expect(nowhere.status).toBe(2);
    expect(nowhere.stderr).toMatch(/^mmtrace: no\/such\/dir\/my-v3\.ts: cannot write the path module \(ENOENT[^\n]*\n$/);
  });
});

describe('module load errors', () => {
  /** Each bad module: its file, its source, the line the error is at, and what the line says. */
  const BAD: [string, string, number, RegExp][] = [
    ['syntax.ts', "import { num } from 'mmtrace/workload';\nconst x: number = ;\nexport default {};\n", 2, /syntax error/],
    ['syntax.mjs', 'const a = 1;\nexport default {\n  *boot() { return a +; },\n};\n', 3, /syntax error/],
    ['no-default.ts', 'export const workload = {};\n', 1, /no default export/],
    ['throws.ts', "import type { Gen } from 'mmtrace/workload';\nexport default {\n  *boot(): Gen {\n    throw new Error('not today');\n  },\n};\n", 4, /the module threw: Error: not today/],
    ['clock.ts', "import { spawn_process, type Gen } from 'mmtrace/workload';\nexport default {\n  *boot(): Gen {\n    yield* spawn_process('t', [], []);\n    if (Date.now() > 0) return;\n  },\n};\n", 5, /Date\.now\(\) is refused/],
    ['date.ts', "import type { Gen } from 'mmtrace/workload';\nexport default {\n  *boot(): Gen {\n    console.log(new Date());\n  },\n};\n", 4, /new Date\(\) is refused/],
    ['random.mjs', 'export default {\n  *boot() {\n    Math.random();\n  },\n};\n', 3, /Math\.random\(\) is refused/],
    ['syscall.ts', "import { sys_mremapp } from 'mmtrace/linux';\nimport type { Gen } from 'mmtrace/workload';\nexport default {\n  *boot(): Gen {\n    yield* sys_mremapp();\n  },\n};\n", 1, /mmtrace\/linux has no export 'sys_mremapp' \(did you mean 'sys_mremap'\?\)/],
    ['io.ts', "import { readFileSync } from 'node:fs';\nexport default {\n  *boot() {\n    readFileSync('/etc/hostname');\n  },\n};\n", 1, /imports 'node:fs'/],
    // Node's built-ins without an import statement: refused as the import is.
    ['builtin.ts', "export default {\n  *boot() {\n    process.getBuiltinModule('node:fs').writeFileSync('leak.txt', 'x');\n  },\n};\n", 3, /process\.getBuiltinModule\(\) is refused/],
    // The top level runs once, at import: a random number there makes every run differ all the same.
    ['top-level.ts', "import type { Gen } from 'mmtrace/workload';\nconst pages = 1 + Math.floor(Math.random() * 4);\nexport default {\n  *boot(): Gen {\n    if (pages > 4) return;\n  },\n};\n", 2, /Math\.random\(\) is refused/],
    ['not-a-generator.ts', 'export default {\n  boot() {},\n};\n', 1, /boot\(\) returned no generator/],
    // A kernel function called with nonsense throws in a later step of a traced call, which the
    // scheduler runs directly (sim/frame.ts): the module's line is still the one blamed.
    ['kernel-nonsense.ts', "import { __access_remote_vm } from 'mmtrace/linux';\nimport { type Gen, outsider, spawn_process } from 'mmtrace/workload';\nexport default {\n  *boot(): Gen {\n    yield* spawn_process('target', ['/t'], []);\n    outsider('reader', function* () {\n      yield* __access_remote_vm(null as never, 0x70000000, new Uint8Array(8), 8, 0);\n    });\n  },\n};\n", 7, /the module threw: TypeError: Cannot read properties of null/],
  ];

  it.each(BAD)('%s: one line with FILE:LINE, exit 2, no trace file', (name, source, line, what) => {
    const dir = tempDir();
    const file = join(dir, name);
    writeFileSync(file, source);
    const r = mmtrace(['record', `./${name}`, '--out=t.db'], { cwd: dir });
    expectOneLineAt(r, file, line, what);
    expect(existsSync(join(dir, 't.db'))).toBe(false);
    expect(existsSync(join(dir, 'leak.txt'))).toBe(false);
  });

  // A one-event kernel function called without yield* did its work; its event would be lost.
  it('a one-event kernel call without yield*: the line of the next call, or the task once its step has ended; exit 2, no trace file', () => {
    const dir = tempDir();
    const module = (body: string) => "import { rcu_read_lock, rcu_read_unlock } from 'mmtrace/linux';\nimport { type Gen, spawn_process, thread } from 'mmtrace/workload';\nexport default {\n  *boot(): Gen {\n    const t = yield* spawn_process('target', ['/t'], []);\n    thread(t, 'reader', function* () {\n" + body + '    });\n  },\n};\n';
    const next = join(dir, 'next.ts');
    writeFileSync(next, module('      rcu_read_lock();\n      yield* rcu_read_unlock();\n'));
    expectOneLineAt(mmtrace(['record', './next.ts', '--out=t.db'], { cwd: dir }), next, 8, /staged a rcu_read_lock event that was never yielded \(another kernel call staged its own\): call it with yield\*/);
    writeFileSync(join(dir, 'ended.ts'), module('      rcu_read_lock();\n'));
    const ended = mmtrace(['record', './ended.ts', '--out=t.db'], { cwd: dir });
    expect(ended.status).toBe(2);
    expect(ended.stderr).toBe('mmtrace: task reader: a kernel call staged a rcu_read_lock event that was never yielded (a task_exit event ended the step): call it with yield*\n');
    expect(existsSync(join(dir, 't.db'))).toBe(false);
  });

  it("an import() of a built-in in a step, which fails once the step is over: one line with FILE:LINE, exit 2", () => {
    const dir = tempDir();
    const file = join(dir, 'later.ts');
    writeFileSync(file, "import type { Gen } from 'mmtrace/workload';\nexport default {\n  *boot(): Gen {\n    void import('node:fs');\n  },\n};\n");
    expectOneLineAt(mmtrace(['record', './later.ts', '--out=t.db'], { cwd: dir }), file, 4, /imports 'node:fs'/);
  });

  it('a path module without the hook, and a missing module file', () => {
    const dir = tempDir();
    const file = join(dir, 'p.ts');
    writeFileSync(file, "export const x = 1;\nexport default { description: 'no hook' };\n");
    expectOneLineAt(mmtrace(['record', 'cross-vma-race', '--path=./p.ts', '--out=t.db'], { cwd: dir }), file, 2, /no access_remote_vm_fast_hook/);
    // A module of one kind given where the other belongs says which it is.
    const workloadFile = join(dir, 'w.ts');
    writeFileSync(workloadFile, 'export default {\n  *boot() {},\n};\n');
    expectOneLineAt(mmtrace(['record', 'cross-vma-race', '--path=./w.ts', '--out=t.db'], { cwd: dir }), workloadFile, 1, /this is a workload module/);
    const pathFile = join(dir, 'hook.ts');
    writeFileSync(pathFile, 'export default {\n  *access_remote_vm_fast_hook() { return null; },\n};\n');
    expectOneLineAt(mmtrace(['record', './hook.ts', '--out=t.db'], { cwd: dir }), pathFile, 1, /this is a path module: give it as --path=FILE/);
    const gone = mmtrace(['record', './gone.ts', '--out=t.db'], { cwd: dir });
    expect(gone.status).toBe(2);
    expect(gone.stderr).toBe(`mmtrace: ${join(dir, 'gone.ts')}: no such module file\n`);
    expect(existsSync(join(dir, 't.db'))).toBe(false);
  });
});

describe('the determinism sandbox', () => {
  it("refuses a clock read from the user's code (this file is not mmtrace's), and puts every global back", () => {
    const saved = [Date, Date.now, Math.random, performance.now, globalThis.setTimeout];
    expect(() => inSandbox(true, () => Date.now())).toThrow(/modules\.test\.ts:\d+: Date\.now\(\) is refused/);
    expect(() => inSandbox(true, () => setTimeout(() => {}, 1))).toThrow(/setTimeout\(\) is refused/);
    expect([Date, Date.now, Math.random, performance.now, globalThis.setTimeout]).toEqual(saved);
    // A Date of a given time reads no clock; without a module the globals are not touched.
    expect(inSandbox(true, () => new Date(0).getTime())).toBe(0);
    expect(inSandbox(false, () => typeof Date.now())).toBe('number');
  });

  it('guards an awaited import as it guards a run, and guards that end out of order leave the originals', async () => {
    const saved = [Date, Date.now, Math.random, process.getBuiltinModule];
    await expect(inSandboxWhile(async () => Math.random())).rejects.toThrow(/modules\.test\.ts:\d+: Math\.random\(\) is refused/);
    expect(() => inSandbox(true, () => process.getBuiltinModule('node:fs'))).toThrow(/process\.getBuiltinModule\(\) is refused in a module: a module may not reach Node's built-ins/);
    let endFirst!: () => void;
    const first = inSandboxWhile(() => new Promise<void>((r) => (endFirst = r)));
    const second = inSandboxWhile(async () => undefined);
    await second;
    expect(() => Date.now()).toThrow(/is refused/);
    endFirst();
    await first;
    expect([Date, Date.now, Math.random, process.getBuiltinModule]).toEqual(saved);
    expect(typeof Date.now()).toBe('number');
  });

  it("lets mmtrace's own code keep its clock while a module runs (a replay snapshot times itself)", { timeout: 60_000 }, () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'many.ts'), `
import { PROT_READ } from 'mmtrace/linux';
import { type Gen, type Workload, type WorkloadContext, intParam, map_filled, num, outsider, remote_read, spawn_process } from 'mmtrace/workload';
const many: Workload = {
  name: 'many-reads',
  description: 'enough remote reads to pass a replay snapshot',
  params: { reads: intParam(1, 1, 100000, 'remote reads') },
  *boot(ctx: WorkloadContext): Gen {
    const target = yield* spawn_process('target', ['/t'], []);
    yield* map_filled(target, 0x70000000, 1, PROT_READ, 'S');
    outsider('reader', function* () {
      for (let i = 0; i < num(ctx, 'reads'); i++) yield* remote_read(target, 0x70000000, 64);
    });
  },
};
export default many;
`);
    const r = mmtrace(['record', './many.ts', '--param', 'reads=1100', '--out=many.db', '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const db = new Database(join(dir, 'many.db'), { readonly: true });
    try {
      expect((db.prepare('SELECT count(*) AS n FROM snapshots').get() as { n: number }).n).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});
