/**
 * Files of other versions. A trace recorded by mmtrace 0.1.0 (test/fixtures) lists, replays (by
 * projection, and re-executed with --verify) and diffs as that build printed it. A run recorded with
 * an older event schema is read as it is; one recorded with a newer schema is refused at open, by
 * every command, with one line and exit code 2.
 */
import Database from 'better-sqlite3';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INITIAL_STACK_PAGES, STACK_TOP } from '../src/linux/fs/exec.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { K, SCHEMA_VERSION } from '../src/trace/vocab/index.js';
import { mmtrace, ROOT, tempDir } from './helpers/cli.js';

const FIXTURE = join(ROOT, 'test/fixtures/v0.1.0-cross-vma-race.db');

interface Case {
  args: string[];
  status: number;
  json: unknown;
}

const EXPECTED = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/v0.1.0-cross-vma-race.expected.json'), 'utf8')) as {
  cases: Case[];
};

/** A copy of the fixture to work on (reading must not need to change it, but a test never risks it). */
function fixtureCopy(): string {
  const file = join(tempDir(), 'v0.1.0-cross-vma-race.db');
  copyFileSync(FIXTURE, file);
  return file;
}

/** Run the CLI with FILE standing for `file`; its exit status and its JSON with `file` read back as FILE. */
function run(args: readonly string[], file: string): { status: number; json: unknown; stderr: string } {
  const r = mmtrace(args.map((a) => a.replace('FILE', file)));
  const stdout = r.stdout.split(file).join('FILE');
  return { status: r.status, json: stdout ? JSON.parse(stdout) : undefined, stderr: r.stderr };
}

function setRunSchema(file: string, run: string, version: number): void {
  const db = new Database(file);
  expect(db.prepare('UPDATE runs SET schema_version = ? WHERE name = ?').run(version, run).changes).toBe(1);
  db.close();
}

/**
 * Re-executing a run with a model whose events changed since it was recorded diverges, and says
 * where. Since 0.1.0, exec's stack VMA has the vm_pgoff an anonymous VMA gets (its start page, as
 * insert_vm_struct() gives it) rather than 0: first met at event 18, the stack's vma_init, whose
 * pgoff field (d) differs. (Later changes: an anonymous write fault no longer looks its PTE table up
 * again after allocating the page, the page goes on the LRU before its PTE is set, a remote write
 * marks its folio dirty under the folio lock, VMA_LOCK_SUCCESS is counted by the fault handler after
 * the fault, trylocks are marked as such.) 0.1.0 printed `verified: true` there.
 */
const DIVERGES_AT = 18;
/** The page number of the stack's first page: STACK_TOP less the initial stack pages. */
const STACK_START_PAGE = (STACK_TOP - INITIAL_STACK_PAGES * PAGE_SIZE) / PAGE_SIZE;
const reExecutes = (args: readonly string[]) => args.includes('--verify');

describe('a trace recorded by mmtrace 0.1.0', () => {
  const file = fixtureCopy();
  for (const c of EXPECTED.cases.filter((x) => !reExecutes(x.args))) {
    it(c.args.join(' '), () => {
      const r = run(c.args, file);
      expect(r.status, r.stderr).toBe(c.status);
      // Everything 0.1.0 printed is printed the same; fields added since (list's config and limit,
      // replay's status) may come on top.
      expect(r.json).toMatchObject(c.json as object);
    });
  }
});

describe('re-executing a trace recorded by mmtrace 0.1.0', () => {
  const file = fixtureCopy();
  for (const c of EXPECTED.cases.filter((x) => reExecutes(x.args))) {
    it(`${c.args.join(' ')}: diverges where the model changed, exit 1, naming the change`, () => {
      const r = run(c.args, file);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the kernel model changed since this run was recorded/);
      const doc = r.json as { verified: boolean; codeChanged: boolean; divergence: { seq: number; recorded: { kind: number; d: number }; replayed: { kind: number; d: number } } };
      expect(doc).toMatchObject({ verified: false, codeChanged: true, divergence: { seq: DIVERGES_AT } });
      const { recorded, replayed } = doc.divergence;
      expect([recorded.kind, replayed.kind]).toEqual([K.vma_init, K.vma_init]);
      expect([recorded.d, replayed.d]).toEqual([0, STACK_START_PAGE]);
    });
  }
});

describe('event schema of a run', () => {
  it('an older one is read as it is', () => {
    const file = fixtureCopy();
    setRunSchema(file, 'gup', SCHEMA_VERSION - 1);
    const list = EXPECTED.cases.find((c) => c.args[0] === 'list')!;
    expect(run(list.args, file)).toMatchObject({ status: 0, json: list.json });
    const diff = EXPECTED.cases.find((c) => c.args[0] === 'diff')!;
    expect(run(diff.args, file)).toMatchObject({ status: diff.status, json: diff.json });
  });

  it('a newer one is refused by list, replay, diff and record: one line, exit 2, the file untouched', () => {
    const file = fixtureCopy();
    setRunSchema(file, 'fast', SCHEMA_VERSION + 1);
    const before = readFileSync(file);
    const commands = [
      ['list', file],
      ['list', file, '--json'],
      ['replay', `${file}#gup`, '--until=10'],
      ['replay', `${file}#fast`, '--verify', '--json'],
      ['diff', `${file}#gup`, `${file}#fast`],
      ['record', 'cmdline-poll', '--param', 'reads=1', `--out=${file}`, '--name=more'],
    ];
    for (const args of commands) {
      const r = mmtrace(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`mmtrace: ${file}#fast: recorded by a newer mmtrace (event schema ${SCHEMA_VERSION + 1}, this build reads up to ${SCHEMA_VERSION}); upgrade mmtrace to read it\n`);
    }
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
