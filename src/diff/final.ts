/**
 * The final states of two runs compared by what they mean. Object ids, pfns and table addresses
 * differ between runs (the paths allocate in another order), so every object is described by what
 * identifies it across runs: a VMA by its process, range, flags and backing; a mapping by its
 * virtual address, level, permission bits and the data of the folio it maps; a folio by its data.
 *
 * behaviour: the VMAs, the memory contents, the page-table mappings or the folio reference and map
 * counts differ (a leaked or missing reference ends as a refcount difference).
 * info: only the accessed/dirty bits of mappings, or folio flags and LRU lists, differ (aging).
 */
import {
  _PAGE_ACCESSED, _PAGE_DIRTY, PTE_LEVEL, entry_flags, entry_leaf, entry_none, entry_pfn, entry_size,
  is_migration_entry, is_real_swap_pte, pfn_swap_entry_to_page, swp_offset,
} from '../linux/arch/x86/include/pgtable_types.js';
import type { FolioState, StateDoc } from '../replay/state.js';
import { LruList, PageFlags } from '../trace/vocab/index.js';
import type { Finding } from './finding.js';
import type { RunFacts } from './facts.js';
import { hex } from './sources.js';

/** Multiset difference of two lists of keys: what only the first has, with counts. */
export function onlyIn(x: string[], y: string[]): string[] {
  const counts = new Map<string, number>();
  for (const k of x) counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const k of y) counts.set(k, (counts.get(k) ?? 0) - 1);
  return [...counts].filter(([, n]) => n > 0).map(([k, n]) => (n > 1 ? `${k} x${n}` : k));
}


function vmaKeys(s: StateDoc): string[] {
  const pidOf = new Map(s.mms.map((m) => [m.mm, m.pid]));
  return s.vmas.map((v) => `pid ${pidOf.get(v.mm) ?? '?'} ${hex(v.start)}-${hex(v.end)} flags ${hex(v.flags)} ${v.file ?? 'anon'}${v.attached ? '' : ' detached'}`);
}

/**
 * What a pfn holds, in terms that survive across runs: the data of its folio (or the raw pfn: I/O
 * memory). Folios do not overlap, so a binary search over them sorted by pfn finds the one holding it.
 */
function pfnContents(folios: FolioState[]): (pfn: number) => string {
  const byPfn = [...folios].sort((x, y) => x.pfn - y.pfn);
  return (pfn) => {
    let lo = 0;
    let hi = byPfn.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = byPfn[mid]!;
      if (pfn < f.pfn) hi = mid - 1;
      else if (pfn >= f.pfn + 2 ** f.order) lo = mid + 1;
      else return `data ${f.dataHash}+${pfn - f.pfn}`;
    }
    return `pfn ${hex(pfn)}`;
  };
}

const AGING_BITS = _PAGE_ACCESSED | _PAGE_DIRTY;

/**
 * Every mapping in every page table: present leaves (PTEs, huge PMDs/PUDs) and non-present entries
 * (migration entries, swap entries). Table pointers are left out: which table a pointer names is an
 * allocation detail, and the mappings below it are compared themselves. `withAging` keeps the
 * accessed and dirty bits (an aging difference) in the key.
 */
function mappingKeys(s: StateDoc, withAging: boolean): string[] {
  const contents = pfnContents(s.folios);
  // A swapped-out page: what its slot holds (slot numbers, like pfns, differ between runs).
  const slotData = new Map(s.swap.map((x) => [x.offset, x.dataHash]));
  const keys: string[] = [];
  for (const t of s.tables) {
    if (t.pendingFree) continue;
    for (const [index, v] of t.entries) {
      if (entry_none(v)) continue;
      const va = hex(t.base + index * entry_size(t.level));
      if (is_migration_entry(v)) {
        keys.push(`${va} L${t.level} migration entry -> ${contents(pfn_swap_entry_to_page(v))}`);
      } else if (is_real_swap_pte(v)) {
        keys.push(`${va} L${t.level} swap entry -> data ${slotData.get(swp_offset(v)) ?? '?'}`);
      } else if (t.level === PTE_LEVEL || entry_leaf(v)) {
        const bits = withAging ? entry_flags(v) : entry_flags(v) & ~AGING_BITS;
        keys.push(`${va} L${t.level} bits ${hex(bits)} -> ${contents(entry_pfn(v))}`);
      }
    }
  }
  return keys;
}

function differs(kind: string, severity: Finding['severity'], what: string, a: RunFacts, b: RunFacts, x: string[], y: string[], max = 4): Finding | null {
  const onlyA = onlyIn(x, y);
  const onlyB = onlyIn(y, x);
  if (onlyA.length === 0 && onlyB.length === 0) return null;
  const list = (xs: string[]) => (xs.length === 0 ? '-' : xs.slice(0, max).join('; ') + (xs.length > max ? `; ... (${xs.length - max} more)` : ''));
  return {
    kind, severity, run: 'both', request: null,
    message: `the final ${what} differ: only in ${a.run.name}: ${list(onlyA)}; only in ${b.run.name}: ${list(onlyB)}`,
  };
}

/**
 * The reference a per-CPU lru_activate batch holds on a folio it queued (folio_activate): such a
 * folio is on an LRU list without PG_lru until the batch is moved, which may be after the run ends.
 * Where the touch came from, not what the paths leaked: it is left out of the count compared (the
 * touch itself is an aging difference, reported as such).
 */
function batchReference(f: FolioState): number {
  const queued = f.lru !== LruList.codes.none && (f.flags & PageFlags.bits.PG_lru) === 0;
  return queued ? 1 : 0;
}

/**
 * The memory the processes hold, as data: every mapped folio, and every swap slot a page table
 * names. A page reclaim swapped out is still the process's memory, only elsewhere: the same bytes
 * mapped in one run and in a swap slot in the other are the same memory (where they live is a
 * page-table difference). A slot is counted once however many entries name it, as a folio is.
 */
function memoryContents(s: StateDoc): string[] {
  const slotData = new Map(s.swap.map((x) => [x.offset, x.dataHash]));
  const namedSlots = new Set<number>();
  for (const t of s.tables) {
    if (t.pendingFree) continue;
    for (const [, v] of t.entries) if (!entry_none(v) && is_real_swap_pte(v)) namedSlots.add(swp_offset(v));
  }
  const swapped = [...namedSlots].map((slot) => slotData.get(slot) ?? '?');
  return [...mappedFolios(s).map((f) => f.dataHash), ...swapped];
}

function mappedFolios(s: StateDoc): FolioState[] {
  return s.folios.filter((f) => f.mapcount > 0);
}

export function finalStateFindings(a: RunFacts, b: RunFacts): Finding[] {
  const [sa, sb] = [a.final, b.final];
  // Counts and flags are compared for folios whose data both runs hold: a folio with other data is
  // already a final-memory difference, and would otherwise be reported again under every heading.
  const dataInA = new Set(sa.folios.map((f) => f.dataHash));
  const dataInB = new Set(sb.folios.map((f) => f.dataHash));
  const common = (fs: FolioState[]) => fs.filter((f) => dataInA.has(f.dataHash) && dataInB.has(f.dataHash));
  const counts = (s: StateDoc) => common(s.folios).map((f) => `data ${f.dataHash} refcount ${f.refcount - batchReference(f)} mapcount ${f.mapcount}`);
  const flags = (s: StateDoc) => common(mappedFolios(s)).map((f) => `data ${f.dataHash} flags ${hex(f.flags)} lru ${f.lru}`);
  const found = [
    differs('final-vmas', 'behaviour', 'VMAs', a, b, vmaKeys(sa), vmaKeys(sb)),
    differs('final-memory', 'behaviour', 'memory contents (data of mapped folios and swapped-out pages)', a, b, memoryContents(sa), memoryContents(sb)),
    differs('final-page-tables', 'behaviour', 'page-table mappings', a, b, mappingKeys(sa, false), mappingKeys(sb, false)),
    differs('final-refcounts', 'behaviour', 'folio reference and map counts', a, b, counts(sa), counts(sb)),
  ];
  // Aging differences only matter when nothing bigger differs in the same place.
  if (!found[2]) found.push(differs('final-pte-aging', 'info', 'accessed/dirty bits of mappings', a, b, mappingKeys(sa, true), mappingKeys(sb, true)));
  found.push(differs('final-folio-state', 'info', 'flags or LRU lists of mapped folios', a, b, flags(sa), flags(sb)));
  return found.filter((f): f is Finding => f !== null);
}
