/**
 * pagetable: walk steps, entry changes, table allocation and freeing, faults, the MMU's accessed
 * bits and user-mode accesses, TLB flushes.
 *
 * An `entry` field is an x86-64 page-table entry as the kernel stores it
 * (arch/x86/include/asm/pgtable_types.h): pfn << 12 | _PAGE_* bits, so 0x...067 reads as present,
 * rw, user, accessed, dirty. The layout is declared here, beside the events that carry it, so a
 * reader decodes entries without the kernel model; the model's own header re-exports it.
 */
import { defineEnum, defineFlags, kind } from './define.js';

/** The page size of every level-1 entry, and the granule of entries' pfns. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** user_access.folio for device memory reached through a pfnmap's special PTE: I/O memory has no folio. */
export const USER_ACCESS_IO = -1;

/** The levels of a four-level table (P4D folded). */
export const PtLevel = defineEnum('pt_levels', { pte: 1, pmd: 2, pud: 3, pgd: 4 });

/** log2 of the bytes one entry maps at each level: a page, 2 MiB, 1 GiB, 512 GiB (x86-64, 4 levels). */
const ENTRY_SHIFT = { pte: PAGE_SHIFT, pmd: 21, pud: 30, pgd: 39 } as const;

/** The bytes one entry of a table at this level maps (a leaf's size, or the span of its subtable). */
export function entrySpan(level: keyof typeof ENTRY_SHIFT): number {
  return 2 ** ENTRY_SHIFT[level];
}

/** The low bits of an entry (_PAGE_*). NX (bit 63) is not modelled: JS numbers carry 53 bits. */
export const PteBits = defineFlags('pte_bits', {
  _PAGE_PRESENT: 0x001,
  _PAGE_RW: 0x002,
  _PAGE_USER: 0x004,
  _PAGE_ACCESSED: 0x020,
  _PAGE_DIRTY: 0x040,
  /** a huge leaf at PMD or PUD level */
  _PAGE_PSE: 0x080,
  /** PROTNONE reuses the global bit on x86 */
  _PAGE_PROTNONE: 0x100,
  /** software bit 9: no struct page refcounting (zero page, pfnmap) */
  _PAGE_SPECIAL: 0x200,
});

/** The pfn an entry points to (a page, or the next table's page). */
export function entryPfn(v: number): number {
  return Math.floor(v / PAGE_SIZE);
}

/** The _PAGE_* bits of an entry. */
export function entryBits(v: number): number {
  return v % PAGE_SIZE;
}

/** pte_present(): present, or PROTNONE (a NUMA-hinting entry the kernel still treats as present). */
export function entryPresent(v: number): boolean {
  return (v & (PteBits.bits._PAGE_PRESENT | PteBits.bits._PAGE_PROTNONE)) !== 0;
}

/** pte_young(): the accessed bit. */
export function entryYoung(v: number): boolean {
  return (v & PteBits.bits._PAGE_ACCESSED) !== 0;
}

/**
 * What a state view appends to an entry of a table at `level` that is a huge leaf rather than a
 * pointer to the next table (present with _PAGE_PSE above the PTE level): ' (1G leaf)' in a PUD
 * table, ' (2M leaf)' in a PMD table; '' for anything else.
 */
export function hugeLeafNote(level: keyof typeof ENTRY_SHIFT, v: number): string {
  const leaf = level !== 'pte' && entryPresent(v) && (v & PteBits.bits._PAGE_PSE) !== 0;
  if (!leaf) return '';
  return level === 'pud' ? ' (1G leaf)' : level === 'pmd' ? ' (2M leaf)' : ' (leaf)';
}

/** An entry as a kernel developer reads it: `0x1234067 (pfn 0x1234 PRESENT|RW|...)`. */
export function formatEntry(v: number): string {
  if (v === 0) return '0';
  const bits = PteBits.names(entryBits(v)).map((n) => n.replace('_PAGE_', ''));
  return `0x${v.toString(16)} (pfn 0x${entryPfn(v).toString(16)} ${bits.join('|') || '-'})`;
}

/**
 * How a page table was freed: at once; queued for after an RCU grace period; after the IPI
 * broadcast (tlb_remove_table_sync_one); or the queued RCU callback ran and freed it now.
 */
export const PgtableFreeMode = defineEnum('pgtable_free_modes', { immediate: 0, rcu_queued: 1, ipi_synced: 2, rcu_freed: 3 });

/** pgtable_trans_huge_deposit() or _withdraw(). */
export const DepositOp = defineEnum('deposit_ops', { withdraw: 0, deposit: 1 });

/** enum vm_fault_reason bits a fault returns (include/linux/mm_types.h). */
export const VmFault = defineFlags('vm_fault_bits', {
  VM_FAULT_OOM: 0x000001,
  VM_FAULT_SIGBUS: 0x000002,
  VM_FAULT_MAJOR: 0x000004,
  VM_FAULT_SIGSEGV: 0x000040,
  /** the handler installed the entry itself (vmf_insert_folio_pud and the like) */
  VM_FAULT_NOPAGE: 0x000100,
  VM_FAULT_RETRY: 0x000400,
  /** the huge path gave up; the fault continues at PTE level */
  VM_FAULT_FALLBACK: 0x000800,
  VM_FAULT_COMPLETED: 0x004000,
});

export const pagetable = {
  pgtable_read: kind({
    code: 50, fields: { level: PtLevel, addr: 'addr', value: 'entry', lockless: 'bool' },
    doc: 'a walk reads the entry for addr at a level (lockless: without the table\'s lock)',
  }),
  pmd_recheck: kind({
    code: 51, fields: { addr: 'addr', same: 'bool', value: 'entry' },
    doc: 'pte_offset_map_lock() re-reads the PMD under the PTL: same, or changed to value',
  }),
  pgtable_set: kind({ code: 52, fields: { table: 'id', addr: 'addr', value: 'entry', old: 'entry' }, doc: 'an entry is set (0: cleared)' }),
  pgtable_alloc: kind({ code: 53, fields: { level: PtLevel, table: 'id', addr: 'addr' }, doc: 'a page table is allocated for addr' }),
  pgtable_free: kind({ code: 54, fields: { level: PtLevel, table: 'id', mode: PgtableFreeMode }, doc: 'a page table is freed, or queued to be' }),
  fault: kind({
    code: 55, fields: { vma: 'id', addr: 'addr', how: 'name', result: VmFault },
    doc: 'a page fault was handled: how (anon_read_zero, anon_write, file_read, cow, wp_reuse, spurious ...) and its VM_FAULT_* result',
  }),
  pte_young: kind({ code: 56, fields: { table: 'id', addr: 'addr', value: 'entry' }, doc: 'the MMU set the accessed (and dirty) bits of an entry' }),
  user_access: kind({
    code: 57, fields: { addr: 'addr', len: 'int', write: 'bool', folio: 'id' }, blob: { name: 'data', type: 'bytes' }, costPerByte: 'len',
    doc: 'a user-mode load or store by a target thread hit a present, permitted entry (the MMU, no kernel code); folio -1: device memory (a pfnmap), which has no folio; data: the stored bytes',
  }),
  tlb_flush: kind({ code: 58, fields: { mm: 'id', start: 'addr', end: 'addr' }, doc: 'the TLB is flushed for [start, end)' }),
  pgtable_deposit: kind({
    code: 123, fields: { table: 'id', addr: 'addr', pgtable: 'id', op: DepositOp },
    doc: 'the PTE table `pgtable` is parked with (or taken back from) the huge PMD at addr of PMD table `table`',
  }),
} as const;
