/**
 * /proc/PID/mem (fs/proc/base.c mem_rw()): page-sized chunks, each an access_remote_vm() with
 * FOLL_FORCE (and FOLL_WRITE for a write); a chunk that moves nothing ends the transfer, with -EIO
 * when it is the first. Unlike cmdline and environ there is no FOLL_ANON: file mappings are read.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW, _PAGE_USER } from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { proc_pid_mem_read, proc_pid_mem_write } from '../src/linux/fs/proc/base.js';
import { EIO } from '../src/linux/include/errno.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import type { RequestResult } from '../src/linux/kernel/request.js';
import { create_file } from '../src/linux/mm/filemap.js';
import { FOLL_FORCE, FOLL_WRITE } from '../src/linux/mm/gup.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { type Process, spawn_process } from '../src/workloads/lib.js';
import { folio_lock, folio_unlock, page_folio } from '../src/linux/mm/folio.js';
import { entry_pfn } from '../src/linux/arch/x86/include/pgtable_types.js';
import { sim } from '../src/sim/sim.js';
import { pte_at } from './helpers/pgtable.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { spawnOutsider, spawnThread, waitUntil } from './helpers/tasks.js';

const FILE_BYTES = new Uint8Array(PAGE_SIZE).fill(0x46);
/** Fixed places, with nothing mapped in the pages after either. */
const ANON_AT = 0x50000000;
const FILE_AT = 0x50100000;

interface Layout {
  /** Two anon pages, filled with 'a' and 'b', the second made PROT_NONE. */
  anon: number;
  /** One page of a private file mapping. */
  file: number;
}

/** The target maps its layout; then `debugger` runs against it. */
/** `readFile`: the target reads its file page first, so a PTE maps the page-cache folio read-only. */
function withTarget(debugger_: (proc: Process, at: Layout) => Gen, readFile = false): Trace {
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    const ready = new Completion();
    const at: Layout = { anon: 0, file: 0 };
    spawnThread(proc, 'target/0', function* () {
      const mm = proc.mm;
      at.anon = yield* sys_mmap(mm, { addr: ANON_AT, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(mm, at.anon, new Uint8Array(PAGE_SIZE).fill(0x61), true);
      yield* user_access(mm, at.anon + PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(0x62), true);
      yield* sys_mprotect(mm, at.anon + PAGE_SIZE, PAGE_SIZE, PROT_NONE);
      const file = yield* create_file('/data/f', FILE_BYTES);
      at.file = yield* sys_mmap(mm, { addr: FILE_AT, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_FIXED, file });
      if (readFile) yield* user_access(mm, at.file, new Uint8Array(4), false);
      yield* complete_all(ready);
    });
    spawnOutsider('debugger', function* () {
      yield* wait_for_completion(ready);
      yield* debugger_(proc, at);
    });
  }, { maxEvents: 200_000 });
  expect(t.result.outcome).toBe('done');
  return t;
}

const text = (r: RequestResult) => new TextDecoder().decode(r.data);

describe('/proc/PID/mem: mem_rw (fs/proc/base.c)', () => {
  it('reads in page-sized chunks from any offset, through a PROT_NONE page (FOLL_FORCE)', () => {
    let r!: RequestResult;
    let anon = 0;
    const t = withTarget(function* (proc, at) {
      anon = at.anon;
      r = yield* proc_pid_mem_read(proc.task, at.anon + 100, PAGE_SIZE + 8);
    });
    expect(r.result).toBe(PAGE_SIZE + 8);
    expect(text(r)).toBe('a'.repeat(PAGE_SIZE - 100) + 'b'.repeat(108));
    // Two chunks: a full page from the unaligned offset, then the 8 bytes left.
    const chunks = t.of('call_enter', 'debugger', (e) => e.fn === '__access_remote_vm');
    expect(chunks.map((e) => e.arg)).toEqual([anon + 100, anon + 100 + PAGE_SIZE]);
    // FOLL_FORCE, and no FOLL_ANON: unlike cmdline and environ.
    expect(t.of('request_end', 'debugger')[0]!.flags).toBe(FOLL_FORCE);
  });

  it('-EIO when the first chunk moves nothing', () => {
    let r!: RequestResult;
    withTarget(function* (proc, at) {
      r = yield* proc_pid_mem_read(proc.task, at.anon + 64 * PAGE_SIZE, 16);
    });
    expect(r.result).toBe(-EIO);
  });

  it('the bytes moved so far when a later chunk moves nothing', () => {
    let r!: RequestResult;
    withTarget(function* (proc, at) {
      // The file page, then a hole.
      r = yield* proc_pid_mem_read(proc.task, at.file, 3 * PAGE_SIZE);
    });
    expect(r.result).toBe(PAGE_SIZE);
    expect(Array.from(r.data)).toEqual(Array.from(FILE_BYTES));
  });

  it('writes into a read-only private mapping by COW (FOLL_FORCE|FOLL_WRITE); the PTE stays read-only', () => {
    let r!: RequestResult;
    let pte = 0;
    let back!: RequestResult;
    const t = withTarget(function* (proc, at) {
      yield* sys_mprotect(proc.mm, at.anon, PAGE_SIZE, PROT_READ);
      r = yield* proc_pid_mem_write(proc.task, at.anon + 8, new TextEncoder().encode('poke'));
      pte = pte_at(proc.mm, at.anon);
      back = yield* proc_pid_mem_read(proc.task, at.anon, 16);
    });
    expect(r.result).toBe(4);
    expect(text(back)).toBe('aaaaaaaapokeaaaa');
    expect(pte & _PAGE_RW).toBe(0);
    expect(t.of('request_end', 'debugger')[0]!.flags).toBe(FOLL_FORCE | FOLL_WRITE);
  });

  it('a write into a read-mapped private file page copies it, holding a reference of its own to the page-cache folio across the copy (wp_page_copy)', () => {
    let r!: RequestResult;
    let back!: RequestResult;
    let cacheId = 0;
    let refBefore = 0;
    let refAfter = 0;
    let pte = 0;
    const t = withTarget(function* (proc, at) {
      // The target reads its file page first: the PTE maps the page-cache folio read-only.
      const folio = page_folio(entry_pfn(pte_at(proc.mm, at.file)));
      cacheId = folio.id;
      refBefore = folio._refcount;
      r = yield* proc_pid_mem_write(proc.task, at.file + 4, new TextEncoder().encode('poke'));
      refAfter = folio._refcount;
      pte = pte_at(proc.mm, at.file);
      back = yield* proc_pid_mem_read(proc.task, at.file, 12);
    }, true);
    expect(r.result).toBe(4);
    expect(text(back)).toBe('FFFFpokeFFFF');
    expect(t.of('fault', 'debugger').map((e) => e.how)).toEqual(['do_wp_page:copy']);
    const fault = t.of('fault', 'debugger')[0]!;
    const copy = t.of('folio_copy', 'debugger')[0]!;
    expect(copy.src).toBe(cacheId);
    // Taken under the PTL, before it was dropped for the copy; dropped with the mapping's after.
    const gets = t.of('folio_get', 'debugger', (e) => e.folio === cacheId && e.seq < copy.seq);
    expect(gets).toHaveLength(1);
    const unlockBeforeCopy = t.of('spin_unlock', 'debugger', (e) => e.class === 'ptl' && e.seq > gets[0]!.seq && e.seq < copy.seq);
    expect(unlockBeforeCopy).toHaveLength(1);
    const puts = t.of('folio_put', 'debugger', (e) => e.folio === cacheId && e.seq > copy.seq && e.seq < fault.seq);
    expect(puts).toHaveLength(2);
    // The page cache keeps its own reference; the fault's and the mapping's are gone.
    expect(refAfter).toBe(refBefore - 1);
    // The copy's PTE: dirty (maybe_mkwrite(pte_mkdirty())), still read-only.
    expect(pte & _PAGE_DIRTY).not.toBe(0);
    expect(pte & _PAGE_RW).toBe(0);
  });

  it('a write into a read-only private page that maps the zero page copies it into a dirty, read-only PTE', () => {
    let pte = 0;
    let back!: RequestResult;
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      const ready = new Completion();
      spawnThread(proc, 'target/0', function* () {
        yield* sys_mmap(proc.mm, { addr: ANON_AT, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* user_access(proc.mm, ANON_AT, new Uint8Array(8), false); // the zero page
        yield* complete_all(ready);
      });
      spawnOutsider('debugger', function* () {
        yield* wait_for_completion(ready);
        yield* proc_pid_mem_write(proc.task, ANON_AT, new TextEncoder().encode('poke'));
        pte = pte_at(proc.mm, ANON_AT);
        back = yield* proc_pid_mem_read(proc.task, ANON_AT, 6);
      });
    }, { maxEvents: 200_000 });
    expect(t.result.outcome).toBe('done');
    expect(t.of('fault', 'debugger').map((e) => e.how)).toEqual(['do_wp_page:copy']);
    expect(Array.from(back.data)).toEqual([0x70, 0x6f, 0x6b, 0x65, 0, 0]);
    expect(pte & _PAGE_DIRTY).not.toBe(0);
    expect(pte & _PAGE_RW).toBe(0);
  });

  it('a FOLL_FORCE read faults an untouched PROT_NONE page in as PAGE_NONE (vm_page_prot): not present to its owner, whose load still faults', () => {
    let r!: RequestResult;
    let pte = 0;
    let ownLoad = true;
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      const ready = new Completion();
      const peeked = new Completion();
      spawnThread(proc, 'target/0', function* () {
        yield* sys_mmap(proc.mm, { addr: ANON_AT, len: PAGE_SIZE, prot: PROT_NONE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* complete_all(ready);
        yield* wait_for_completion(peeked);
        ownLoad = yield* user_access(proc.mm, ANON_AT, new Uint8Array(8), false);
      });
      spawnOutsider('debugger', function* () {
        yield* wait_for_completion(ready);
        r = yield* proc_pid_mem_read(proc.task, ANON_AT, 8);
        pte = pte_at(proc.mm, ANON_AT);
        yield* complete_all(peeked);
      });
    }, { maxEvents: 200_000 });
    expect(t.result.outcome).toBe('done');
    // The zero page, read through GUP (which follows a PROT_NONE entry for a remote access).
    expect(r.result).toBe(8);
    expect(Array.from(r.data)).toEqual(new Array(8).fill(0));
    expect(t.of('fault', 'debugger').map((e) => e.how)).toEqual(['do_anonymous_page:zero_page']);
    // PAGE_NONE: _PAGE_PROTNONE, not present, not user; the owner's load gets SIGSEGV.
    expect(pte & _PAGE_PRESENT).toBe(0);
    expect(pte & _PAGE_USER).toBe(0);
    expect(pte & _PAGE_PROTNONE).not.toBe(0);
    expect(ownLoad).toBe(false);
    expect(t.of('force_sig_fault', 'target/0').map((e) => [e.sig, e.addr])).toEqual([['SIGSEGV', ANON_AT]]);
  });

  for (const [path, variant] of [['gup', []], ['fast', ['vmaGup']]] as const) {
    it(`a write marks the folio dirty under its lock (folio_mark_dirty_lock), sleeping while another task holds it, with the ${path === 'gup' ? 'mmap_lock' : 'VMA lock'} held (${path}${variant.length ? '+' + variant.join('+') : ''})`, () => {
      let unlockedAt = -1;
      let r!: RequestResult;
      let folioId = 0;
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const ready = new Completion();
        const locked = new Completion();
        spawnThread(proc, 'target/0', function* () {
          yield* sys_mmap(proc.mm, { addr: ANON_AT, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
          yield* user_access(proc.mm, ANON_AT, new Uint8Array(PAGE_SIZE).fill(0x61), true);
          yield* complete_all(ready);
        });
        spawnOutsider('locker', function* () {
          yield* wait_for_completion(ready);
          // Whoever holds a folio locked for a while: reclaim, migration, khugepaged.
          const folio = page_folio(entry_pfn(pte_at(proc.mm, ANON_AT)));
          folioId = folio.id;
          yield* folio_lock(folio);
          yield* complete_all(locked);
          yield* waitUntil(() => folio.waiters.length > 0);
          unlockedAt = sim().seq + 1;
          yield* folio_unlock(folio);
        });
        spawnOutsider('debugger', function* () {
          yield* wait_for_completion(locked);
          r = yield* proc_pid_mem_write(proc.task, ANON_AT + 8, new TextEncoder().encode('poke'));
        });
      }, { path, variant: [...variant], maxEvents: 200_000 });
      expect(t.result.outcome).toBe('done');
      expect(r.result).toBe(4);
      const copy = t.of('copy_to_folio', 'debugger')[0]!;
      const slept = t.of('sched_block', 'debugger', (e) => e.wait === 'folio_lock' && e.on === folioId);
      expect(slept).toHaveLength(1);
      expect(slept[0]!.seq).toBeGreaterThan(copy.seq);
      // Dirtied only once the locker let go, and under the debugger's own lock of the folio.
      const dirty = t.of('folio_mark_dirty', 'debugger', (e) => e.folio === folioId);
      expect(dirty).toHaveLength(1);
      expect(dirty[0]!.seq).toBeGreaterThan(unlockedAt);
      const own = t.of('folio_flags', 'debugger', (e) => e.folio === folioId).map((e) => [e.why, e.seq < dirty[0]!.seq]);
      expect(own).toEqual([['folio_lock', true], ['folio_unlock', false]]);
      // It slept holding what the copy was made under: mmap_lock for read (gup), the VMA lock (fast).
      if (path === 'gup') {
        const released = t.of('mmap_lock_released', 'debugger', (e) => !e.write);
        expect(released.some((e) => e.seq > dirty[0]!.seq)).toBe(true);
        expect(released.filter((e) => e.seq > slept[0]!.seq && e.seq < dirty[0]!.seq)).toHaveLength(0);
      } else {
        const ended = t.of('vma_end_read', 'debugger');
        expect(ended.filter((e) => e.seq > slept[0]!.seq && e.seq < dirty[0]!.seq)).toHaveLength(0);
        expect(ended.some((e) => e.seq > dirty[0]!.seq)).toBe(true);
      }
    });
  }
});

