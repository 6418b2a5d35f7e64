/**
 * Where differing bytes came from (issue 5, "which address ranges and which VMAs or files they came
 * from in each run"): the layout of a request's copies in its returned buffer, inferred from the
 * copies' hashes (src/diff/sources.ts), and what the diff reports for the review's scenarios.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { CopyFacts, VmaAtCopy } from '../src/diff/facts.js';
import { byteSources, describeSource, placeCopies } from '../src/diff/sources.js';
import { bytesHash } from '../src/trace/hash.js';
import { diffFiles } from './helpers/diff.js';
import { mmtrace, tempDir } from './helpers/cli.js';
import { recordWithFixes } from './helpers/record.js';

const ANON: VmaAtCopy = { start: 0x1000, end: 0x3000, file: null, pgoff: 0, createdAt: 7 };
const FILE: VmaAtCopy = { start: 0x7000, end: 0x9000, file: '/fuse/argv', pgoff: 2, createdAt: 9 };

let nextSeq = 100;
/** A copy of `bytes` from target address `addr`, as the facts pass records it. */
function copy(addr: number, bytes: number[], vma: VmaAtCopy = ANON, folio = 5): CopyFacts {
  const b = Uint8Array.from(bytes);
  return { seq: nextSeq++, addr, len: b.length, folio, fromPageCache: vma.file !== null, hash: bytesHash(b), vma };
}

const at = (placed: ReturnType<typeof placeCopies>) => placed.map((p) => [p.at, p.copy.addr]);

describe('placeCopies: the copies laid out in the returned buffer', () => {
  test('copies end to end, in order', () => {
    const data = Uint8Array.from([1, 2, 3, 4, 5]);
    expect(at(placeCopies([copy(0x1000, [1, 2]), copy(0x1002, [3, 4, 5])], data))).toEqual([[0, 0x1000], [2, 0x1002]]);
  });

  test('a probe the caller threw away is skipped, even when its byte matches the buffer by chance', () => {
    // get_mm_cmdline reads argv's last byte (a NUL) first; the buffer here starts with a NUL too.
    const data = Uint8Array.from([0, 7, 8, 9]);
    const probe = copy(0x1fff, [0]);
    const argv = copy(0x1000, [0, 7, 8, 9]);
    expect(at(placeCopies([probe, argv], data))).toEqual([[0, 0x1000]]);
  });

  test('a copy longer than what is left ends the buffer (a proctitle keeps only its head)', () => {
    const data = Uint8Array.from([1, 2, 3]);
    expect(at(placeCopies([copy(0x1000, [1, 2, 3, 0, 0, 0])], data))).toEqual([[0, 0x1000]]);
  });

  test('bytes no copy accounts for are not attributed', () => {
    const data = Uint8Array.from([1, 2, 9, 9]);
    const placed = placeCopies([copy(0x1000, [1, 2]), copy(0x1002, [3, 4])], data);
    expect(at(placed)).toEqual([[0, 0x1000]]);
    expect(byteSources([copy(0x1000, [1, 2]), copy(0x1002, [3, 4])], data, [[1, 4]]).map((s) => s.range)).toEqual([[1, 2]]);
  });

  test('verified copies win over an unverified one covering the same bytes', () => {
    // A and B fill [0, 8) and hash right; C's head is the rest. Laying C out from 0 unverified
    // would cover as many bytes, but checks none of them.
    const A = copy(0x1000, [1, 2, 3, 4]);
    const B = copy(0x1004, [5, 6, 7, 8]);
    const C = copy(0x3000, [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    const placed = placeCopies([A, B, C], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(placed.map((p) => [p.at, p.copy.addr, p.verified])).toEqual([[0, 0x1000, true], [4, 0x1004, true], [8, 0x3000, false]]);
  });

  test('a proctitle over a page boundary: the probe skipped, the first page verified, the second its head', () => {
    // get_mm_proctitle reading from page offset 3000: copies of 1096 and 3000 bytes, of which the
    // proctitle keeps the first 2000.
    const bytes = Array.from({ length: 4096 }, (_, i) => 1 + (i % 251));
    const probe = copy(0x2000_0fff, [0]);
    const first = copy(0x1fff_fbb8, bytes.slice(0, 1096));
    const second = copy(0x2000_0000, bytes.slice(1096, 4096));
    const placed = placeCopies([probe, first, second], Uint8Array.from(bytes.slice(0, 2000)));
    expect(placed.map((p) => [p.at, p.copy.addr, p.verified])).toEqual([[0, 0x1fff_fbb8, true], [1096, 0x2000_0000, false]]);
    const [, unchecked] = byteSources([probe, first, second], Uint8Array.from(bytes.slice(0, 2000)), [[0, 2000]]);
    expect(describeSource(unchecked!)).toMatch(/unverified: the caller kept part of this copy/);
  });

  test('linear in the number of copies: 10000 small copies, 1000 identical pages', () => {
    const small = Array.from({ length: 10_000 }, (_, i) => copy(0x1000 + 4 * i, [i & 255, (i >> 8) & 255, 7, 9]));
    const data = Uint8Array.from(small.flatMap((_, i) => [i & 255, (i >> 8) & 255, 7, 9]));
    const placed = placeCopies(small, data);
    expect(placed).toHaveLength(10_000);
    expect(placed.every((p, i) => p.at === 4 * i && p.verified)).toBe(true);
    const page = Array<number>(4096).fill(0);
    const pages = Array.from({ length: 1000 }, (_, i) => copy(0x10000000 + 4096 * i, page));
    expect(placeCopies(pages, new Uint8Array(4096 * 1000)).map((p) => p.at)).toEqual(pages.map((_, i) => 4096 * i));
  });

  test('nothing returned, nothing placed', () => {
    expect(placeCopies([copy(0x1000, [1])], new Uint8Array(0))).toEqual([]);
  });
});

describe('byteSources: each differing range split by the copy that supplied it', () => {
  test('ranges are clipped to each copy, with the target address of their first byte', () => {
    const copies = [copy(0x1ff8, [1, 2, 3, 4, 5, 6, 7, 8]), copy(0x7ff0, [9, 9, 9, 9], FILE, 12)];
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9]);
    const sources = byteSources(copies, data, [[6, 10]]);
    expect(sources.map((s) => [s.range, s.addr, s.folio, s.pageCache])).toEqual([[[6, 8], 0x1ffe, 5, false], [[8, 10], 0x7ff0, 12, true]]);
    expect(describeSource(sources[0]!)).toBe(`[6, 8) from 0x1ffe in anon VMA [0x1000, 0x3000) created at #7, folio 5 (copy #${copies[0]!.seq})`);
    // The file offset: pgoff 2 pages plus the distance from vm_start.
    expect(describeSource(sources[1]!)).toMatch(/^\[8, 10\) from 0x7ff0 in file '\/fuse\/argv' \+0x2ff0 \(VMA \[0x7000, 0x9000\) created at #9\), folio 12 \(page cache\)/);
  });
});

const recorded = (workload: string) => recordWithFixes(workload, join(tempDir(), `${workload}.db`));

const diff = (file: string, a: string, b: string) => diffFiles(file, a, file, b);

describe('the sources of differing bytes in the review scenarios', () => {
  test('§12.1 cross-vma-race: gup read the second page from the VMA before the race, v1 from the one that replaced it', async () => {
    const file = await recorded('cross-vma-race');
    const report = await diff(file, 'gup', 'fast');
    const [req] = report.requests;
    // The mixed-VMA finding names the two VMAs v1 copied from: A, then the one the race mapped.
    const mixed = report.findings.find((f) => f.kind === 'mixed-vmas')!.message;
    const [, aCreated, bCreated] = /copied from anon VMA \[0x10000000, 0x10001000\) created at #(\d+), then anon VMA \[0x10001000, 0x10002000\) created at #(\d+)\)$/.exec(mixed)!;
    expect(Number(bCreated)).toBeGreaterThan(Number(aCreated));
    expect(req!.differingRanges).toEqual([[8, 16]]);
    const [a] = req!.sources.a;
    const [b] = req!.sources.b;
    expect(req!.sources.a).toHaveLength(1);
    expect(req!.sources.b).toHaveLength(1);
    // Same address, same range, but two VMAs: v1's was created later (the racing mmap) and its
    // folio is another one.
    expect([a!.range, b!.range]).toEqual([[8, 16], [8, 16]]);
    expect(a!.addr).toBe(b!.addr);
    expect([a!.vma!.start, a!.vma!.end]).toEqual([b!.vma!.start, b!.vma!.end]);
    expect(b!.vma!.createdAt).toBeGreaterThan(a!.vma!.createdAt);
    expect(b!.folio).not.toBe(a!.folio);
    expect([a!.vma!.file, b!.vma!.file]).toEqual([null, null]);
  });

  test('§12.2 file-cmdline: v1\'s argv came from the page cache of the mapped file; gup returned nothing', async () => {
    const file = await recorded('file-cmdline');
    const r = await diff(file, 'gup', 'fast');
    const differing = r.requests.filter((q) => !q.same);
    expect(differing.length).toBeGreaterThan(0);
    for (const q of differing) {
      expect(q.sources.a, q.id).toEqual([]); // gup returned 0 bytes
      expect(q.sources.b.map((s) => [s.range, s.vma?.file, s.pageCache]), q.id).toEqual([[[0, q.b!.result], '/fuse/argv', true]]);
    }
  });

  test('the text report says where the bytes came from in each run', async () => {
    const file = await recorded('file-cmdline');
    const r = mmtrace(['diff', `${file}#gup`, `${file}#fast`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/monitor:2: bytes differ at \[0, 48\); where they came from:\n {4}\S+#gup:\n {6}\(returned none of these bytes\)\n {4}\S+#fast:\n {6}\[0, 48\) from 0x[0-9a-f]+ in file '\/fuse\/argv' \+0x[0-9a-f]+ \(VMA /);
  });
});
