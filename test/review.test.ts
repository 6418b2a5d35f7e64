/**
 * `mmtrace review` through the CLI: the review's findings on v1 (each with a command that shows it
 * again in a fresh process), the fixed variant's clean ordered scenarios and its stuck-writer
 * headline, a path module as the candidate, the 72-column report and exit codes. That the README's
 * report is what its command prints is checked where the README's commands run (readme.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reviewText } from '../src/review/report.js';
import { CLI, mmtrace, ROOT, tempDir } from './helpers/cli.js';

/** Run a printed command (`npx mmtrace ...`) as a person pastes it, continuation lines joined. */
function runPrinted(command: string, cwd: string) {
  const args = command.replace(/\\\n\s*/g, '').trim().split(/\s+/);
  expect(args.slice(0, 2)).toEqual(['npx', 'mmtrace']);
  return spawnSync(process.execPath, [CLI, ...args.slice(2)], { cwd, encoding: 'utf8' });
}

describe('review of v1 (the fast path as posted)', () => {
  let dir: string;
  let doc: any;
  let text: string;

  beforeAll(() => {
    dir = tempDir();
    const args = ['review', '--workloads=cross-vma-race,file-cmdline,reclaim-aging,dontneed-race', '--config', 'pteFreeImmediate=y', '--explore=40'];
    const json = mmtrace([...args, '--json', '--out=v1.db'], { cwd: dir });
    expect(json.status).toBe(1);
    doc = JSON.parse(json.stdout);
    // the text of a smaller review (the same code prints every report)
    const plain = mmtrace(['review', '--workloads=cross-vma-race,file-cmdline', '--explore=20', '--out=text.db'], { cwd: dir });
    expect(plain.status).toBe(1);
    text = plain.stdout;
    // two reviews: about 30 s on an idle 2-core machine, past the default 60 s beside other work
  }, 240_000);

  it('reports mixed VMAs, FOLL_ANON, ageing and the use-after-free, each where the review found it', () => {
    const where = Object.fromEntries(doc.problems.map((p: any) => [p.kind, p.workload]));
    expect(where['mixed-vmas']).toBe('cross-vma-race');
    expect(where['foll-anon']).toBe('file-cmdline');
    expect(doc.problems.find((p: any) => p.kind === 'aging').alsoIn.concat(where.aging)).toContain('reclaim-aging');
    expect(where['use-after-free']).toBe('dontneed-race');
    expect(doc.problems.find((p: any) => p.kind === 'use-after-free').onGupToo).toBe(true);
    expect(doc.clean).toBe(false);
    const cross = doc.scenarios.find((s: any) => s.workload === 'cross-vma-race');
    expect(cross.verdict).toBe('different');
    expect(cross.violations.find((v: any) => v.checker === 'mixed-vmas').preemptions).toBe(1);
  });

  // A dozen fresh processes (replay, diff): about 8 s on an idle machine, a minute beside other work.
  it('prints a command for each that shows it again in a fresh process', { timeout: 180_000 }, () => {
    for (const p of doc.problems) {
      for (const command of p.reproduce) {
        const r = runPrinted(command, dir);
        if (command.includes(' diff ')) {
          expect(r.status, command).toBe(p.onGupToo ? 0 : 1);
          expect(r.stdout, command).toContain(p.kind === 'foll-anon' ? 'foll-anon-file-bytes' : p.kind);
        } else {
          expect(r.status, command).toBe(0);
          expect(r.stdout, command).toMatch(/TASKS/);
        }
      }
    }
  });

  it('writes plain text within 72 columns, with the matrix, the headline and one line per problem', () => {
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(72);
    expect(text).toMatch(/^cross-vma-race\s+different\s+mixed-vmas/m);
    expect(text).toContain('Headline, fast against gup:');
    expect(text).toMatch(/mmap_lock read acquisitions: gup \d+, fast \d+/);
    expect(text).toMatch(/- reads spanning two VMAs can return data from VMAs that never\s+coexisted \(cross-vma-race, seed 1, 1 preemption\)/);
    // every printed command runs as pasted, continuation lines and all
    const commands = text.match(/^ {4}npx mmtrace (?:[^\n]*\\\n)*[^\n]*/gm)!;
    expect(commands.length).toBeGreaterThan(3);
    for (const c of commands.slice(0, 2)) expect(runPrinted(c, dir).status).toBeLessThanOrEqual(1);
  });

  it('gives the command that replays every violation explore kept, in every scenario, not only the first', () => {
    // the report of this very review, printed by the code the CLI prints with
    const printed = reviewText(doc).join('\n').replace(/ \\\n\s*/g, ' ');
    const kept = doc.scenarios.flatMap((s: any) => s.violations.map((v: any) => v.replay));
    // violations kept in more than one scenario: the ones after the first used to go unprinted
    expect(doc.scenarios.filter((s: any) => s.violations.length > 0).length).toBeGreaterThan(1);
    for (const replay of kept) expect(printed).toContain(replay);
  });

  it('keeps every run and every kept violation in one file that the other commands open', () => {
    const list = JSON.parse(mmtrace(['list', 'v1.db', '--json'], { cwd: dir }).stdout);
    const names = list.runs.map((r: any) => r.name);
    expect(names).toContain('cross-vma-race/gup/s1');
    expect(names).toContain('cross-vma-race/fast/s1');
    expect(names).toContain('cross-vma-race/fast-mixed-vmas-1');
    expect(list.runs.every((r: any) => r.status === 'complete')).toBe(true);
    expect(existsSync(join(dir, '.v1.db.review-' + 1))).toBe(false);
  });
});

describe('review of the fixed variant', () => {
  // A review of the whole library: about 20 s on an idle 2-core machine, longer beside other tests.
  it('finds no behaviour difference on the ordered scenarios, and the monitor does not wait behind the writer', { timeout: 240_000 }, () => {
    const dir = tempDir();
    const r = mmtrace(['review', '--variant=singleVmaOnly,checkFollAnon,touch', '--explore=0', '--json', '--out=fixed.db'], { cwd: dir });
    expect(r.status).toBeLessThanOrEqual(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.candidate).toBe('fast+singleVmaOnly+checkFollAnon+touch');
    const ordered = doc.scenarios.filter((s: any) => !s.unordered);
    expect(ordered.length).toBeGreaterThan(15);
    for (const s of ordered) expect(`${s.workload}: ${s.verdict} ${s.differences}`).toBe(`${s.workload}: equivalent `);
    const stuck = doc.headline.waits.find((w: any) => w.workload === 'stuck-writer');
    expect(stuck.gup.max).toBeGreaterThan(10_000);
    expect(stuck.candidate.max).toBe(0);
    expect(doc.headline.mmapReadAcquisitions.candidate).toBeLessThan(doc.headline.mmapReadAcquisitions.gup);
  });
});

describe('review of a path module', () => {
  it('names the runs after the module and reviews it like a built-in path', () => {
    const dir = tempDir();
    cpSync(join(ROOT, 'examples', 'paths', 'v2-single-vma.ts'), join(dir, 'my-v2.ts'));
    const r = mmtrace(['review', '--path=./my-v2.ts', '--workloads=cross-vma-race', '--explore=20', '--json', '--out=v2.db'], { cwd: dir });
    expect(r.status, r.stderr).toBeLessThanOrEqual(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.candidate).toBe('my-v2');
    const cross = doc.scenarios[0];
    expect(cross.seeds[0].candidate).toBe('cross-vma-race/my-v2/s1');
    expect(cross.differences).not.toContain('mixed-vmas');
    expect(cross.violations.map((v: any) => v.checker)).not.toContain('mixed-vmas');
  });
});

describe('review, bad input', () => {
  it('refuses gup as the candidate, an unknown workload and a bad number with one line and exit 2, writing nothing', () => {
    const dir = tempDir();
    for (const args of [['--path=gup'], ['--workloads=nope'], ['--workloads=,'], ['--explore=x'], ['--seeds=0'], ['--config', 'NOPE=y']]) {
      const r = mmtrace(['review', ...args, '--out=bad.db'], { cwd: dir });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).not.toMatch(/internal error/);
      expect(existsSync(join(dir, 'bad.db'))).toBe(false);
    }
  });
});
