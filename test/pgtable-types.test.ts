/**
 * x86 entry arithmetic (src/linux/arch/x86/include/pgtable_types.ts): entries are pfn << 12 plus
 * flags and exceed 32 bits once the pfn passes 2^20, where JavaScript's `|` and `&` truncate. Every
 * flag change in the kernel model goes through entry_set_bits / entry_clear_bits.
 */
import { describe, expect, test } from 'vitest';
import {
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW, _PAGE_USER,
  entry_clear_bits, entry_flags, entry_pfn, entry_set_bits, mk_entry, pte_young,
} from '../src/linux/arch/x86/include/pgtable_types.js';

describe('flag changes keep the pfn of an entry above 2^32', () => {
  const pfn = 2 ** 21 + 5; // entry ~2^33
  const entry = mk_entry(pfn, _PAGE_PRESENT | _PAGE_USER);

  test('the premise: `|` on such an entry loses the pfn', () => {
    expect(entry).toBeGreaterThan(2 ** 32);
    expect(entry_pfn(entry | _PAGE_RW)).not.toBe(pfn);
  });

  test('set and clear change only the flags', () => {
    const young = entry_set_bits(entry, _PAGE_ACCESSED | _PAGE_DIRTY);
    expect([entry_pfn(young), entry_flags(young)]).toEqual([pfn, _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY]);
    expect(pte_young(young)).toBe(true);
    // Setting a bit already set, or clearing one already clear, changes nothing.
    expect(entry_set_bits(young, _PAGE_ACCESSED)).toBe(young);
    expect(entry_clear_bits(entry, _PAGE_RW)).toBe(entry);
    const protnone = entry_set_bits(entry_clear_bits(young, _PAGE_PRESENT), _PAGE_PROTNONE);
    expect([entry_pfn(protnone), entry_flags(protnone)]).toEqual([pfn, _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PROTNONE]);
  });
});
