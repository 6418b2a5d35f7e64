/**
 * Every module in examples/ records as it is, through the CLI from a folder outside the project:
 * workload modules on gup and fast, path modules on cross-vma-race beside gup.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mmtrace, ROOT, tempDir } from './helpers/cli.js';

const EXAMPLES = join(ROOT, 'examples');

function files(kind: 'workloads' | 'paths'): string[] {
  return readdirSync(join(EXAMPLES, kind)).filter((f) => f.endsWith('.ts')).sort();
}

interface Recorded {
  runs: { name: string; status: string; finalHash: string; requests: number }[];
}

describe('examples/', () => {
  it('holds two examples of each kind', () => {
    expect(files('workloads').length).toBeGreaterThanOrEqual(2);
    expect(files('paths').length).toBeGreaterThanOrEqual(2);
  });

  it.each(files('workloads'))('workloads/%s records on gup and fast', (file) => {
    const dir = tempDir();
    const r = mmtrace(['record', join(EXAMPLES, 'workloads', file), '--path=gup,fast', '--out=t.db', '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const runs = (JSON.parse(r.stdout) as Recorded).runs;
    expect(runs.map((run) => [run.name, run.status])).toEqual([['gup', 'complete'], ['fast', 'complete']]);
    for (const run of runs) expect(run.requests).toBeGreaterThan(0);
  });

  it.each(files('paths'))('paths/%s records cross-vma-race beside gup', (file) => {
    const dir = tempDir();
    const r = mmtrace(['record', 'cross-vma-race', `--path=gup,${join(EXAMPLES, 'paths', file)}`, '--out=t.db', '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const runs = (JSON.parse(r.stdout) as Recorded).runs;
    expect(runs.map((run) => [run.name, run.status])).toEqual([['gup', 'complete'], [file.replace(/\.ts$/, ''), 'complete']]);
  });

  it('mainline.ts, a hook that never copies, is mainline event for event; v2-single-vma.ts is equivalent to gup', () => {
    const dir = tempDir();
    const paths = ['mainline.ts', 'v2-single-vma.ts'].map((f) => join(EXAMPLES, 'paths', f));
    const r = mmtrace(['record', 'cross-vma-race', `--path=gup,${paths.join(',')}`, '--out=t.db', '--json'], { cwd: dir });
    const [gup, mainline] = (JSON.parse(r.stdout) as Recorded).runs;
    expect(mainline!.finalHash).toBe(gup!.finalHash);
    expect(mmtrace(['diff', 't.db#gup', 't.db#v2-single-vma'], { cwd: dir }).status).toBe(0);
  });

  it("v2-single-vma.ts is the starting file of `mmtrace new path` with the walkthrough's one line added", () => {
    /** The code after the header comment, its description aside. */
    const body = (text: string) => text.slice(text.indexOf('import ')).replace(/description: '.*',/, 'description,');
    const template = body(readFileSync(join(ROOT, 'templates', 'path.ts'), 'utf8'));
    const v2 = body(readFileSync(join(EXAMPLES, 'paths', 'v2-single-vma.ts'), 'utf8'));
    const anchor = '  if (!readable) return false;\n';
    expect(v2).toBe(template.replace(anchor, `${anchor}  if (addr + len > vma.vm_end) return false; // v2: the whole read in one VMA\n`));
  });
});
