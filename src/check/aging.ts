/**
 * aging: a read that skips FOLL_TOUCH. Mainline's GUP walk ages what it returns, so reclaim sees
 * the page in use:
 *
 * - a PTE-mapped folio: follow_page_pte calls folio_mark_accessed, whatever the PTE's young bit;
 * - a PMD-mapped THP: touch_pmd, which makes the PMD young (on x86 a read's pmdp_set_access_flags
 *   writes nothing and leaves the accessed bit to the MMU, so the call itself is the sign): it ages
 *   the folio that the walk then copies from;
 * - a hugetlb folio: hugetlb_follow_page_mask does not age it, so neither must anyone else;
 * - a 1 GiB folio (device-dax, the model's only PUD-order folio): device memory is on no LRU, so
 *   reclaim never ages it, and follow_huge_pud does not touch it.
 *
 * Reported when a request copied from a folio it did not age that way. A behaviour change, not a
 * bug: reclaim ages the page differently, it does not misbehave.
 */
import { reducerOf, type Reducer } from '../reduce/reducer.js';
import { entryPfn, entryPresent, entryYoung, VmFlags } from '../trace/vocab/index.js';
import type { CheckContext } from './context.js';

/** The largest folio order the model allocates (a 1 GiB hugetlb page). */
const MAX_ORDER = 18;
/** A folio mapped by a PMD is at least this large. */
const PMD_ORDER = 9;
/** A folio of this order is device-dax memory (1 GiB hugetlb pages are not modelled). */
const PUD_ORDER = 18;

interface RequestTouches {
  /** Folios copied from, with the seq of the first copy. */
  copied: Map<number, number>;
  touched: Set<number>;
}

export function aging(ctx: CheckContext): Reducer {
  /**
   * Head pfn -> folio and order, for the folio an entry maps; and each folio's head pfn, so that a
   * freed folio leaves both: what they hold is the folios allocated now, not every folio of the run.
   */
  const folioAtHead = new Map<number, { folio: number; order: number }>();
  const headOfFolio = new Map<number, number>();
  const folioOfPfn = (pfn: number): { folio: number; order: number } | undefined => {
    for (let order = 0; order <= MAX_ORDER; order++) {
      const at = folioAtHead.get(pfn - (pfn % 2 ** order));
      if (at && at.order >= order) return at;
    }
    return undefined;
  };
  /** Tasks that called touch_pmd since their last copy: the next copy's folio is the one it aged. */
  const touchedPmd = new Set<number>();
  /** A PMD entry of a THP aged by the request. */
  const pmdTouched = (tid: number, entry: number) => {
    const at = folioOfPfn(entryPfn(entry));
    if (at && at.order >= PMD_ORDER) open.get(tid)?.touched.add(at.folio);
  };
  const fromHugetlb = (tid: number, addr: number) => {
    const mm = ctx.targets.of(tid);
    const vma = mm === undefined ? undefined : ctx.vmas.at(mm, addr);
    return vma !== undefined && (vma.flags & VmFlags.bits.VM_HUGETLB) !== 0;
  };
  /** Device-dax folios: on no LRU, nothing for reclaim to age. */
  const deviceFolios = new Set<number>();
  const open = new Map<number, RequestTouches>();
  ctx.requests.onBegin((_r, tid) => open.set(tid, { copied: new Map(), touched: new Set() }));
  ctx.requests.onEnd((r, tid) => {
    const touches = open.get(tid);
    open.delete(tid);
    if (!touches || (r.result ?? 0) <= 0) return;
    const untouched = [...touches.copied].filter(([folio]) => !touches.touched.has(folio));
    if (untouched.length === 0) return;
    ctx.report({
      checker: 'aging', severity: 'behaviour', request: r.id, seqs: untouched.map(([, seq]) => seq),
      message: `${r.id} read ${untouched.length} folio(s) without marking them accessed (FOLL_TOUCH skipped): reclaim ages folio ${untouched.map(([f]) => f).join(', ')} as unused`,
      witnesses: [ctx.witness(untouched[0]![1], tid, `copy from folio ${untouched[0]![0]}`)],
    });
  });
  return reducerOf({
    folio_alloc(e) {
      folioAtHead.set(e.pfn, { folio: e.folio, order: e.order });
      headOfFolio.set(e.folio, e.pfn);
      if (e.order >= PUD_ORDER) deviceFolios.add(e.folio);
    },
    folio_free(e) {
      const pfn = headOfFolio.get(e.folio);
      if (pfn === undefined) return;
      headOfFolio.delete(e.folio);
      if (folioAtHead.get(pfn)?.folio === e.folio) folioAtHead.delete(pfn);
      deviceFolios.delete(e.folio);
    },
    copy(e) {
      const touches = open.get(e.tid);
      if (touchedPmd.delete(e.tid)) touches?.touched.add(e.folio);
      // 0 is the zero page and -1 an I/O handler: nothing for reclaim to age.
      if (touches && e.folio > 0 && !touches.copied.has(e.folio) && !deviceFolios.has(e.folio) && !fromHugetlb(e.tid, e.addr)) touches.copied.set(e.folio, e.seq);
    },
    folio_mark_accessed(e) {
      open.get(e.tid)?.touched.add(e.folio);
    },
    call_enter(e) {
      if (e.fn === 'touch_pmd') touchedPmd.add(e.tid);
    },
    pgtable_set(e) {
      if (entryPresent(e.old) && !entryYoung(e.old) && entryYoung(e.value)) pmdTouched(e.tid, e.value);
    },
  });
}
