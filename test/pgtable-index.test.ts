/**
 * table_index(): the index of an address in a table of each level, as pgd_index ... pte_index
 * compute it: floor(addr / size of an entry) modulo 512, for every address up to 2^57 (5-level
 * paging's reach), whatever arithmetic computes it.
 */
import { describe, expect, it } from 'vitest';
import { PGD_LEVEL, PTE_LEVEL, PTRS_PER_TABLE, entry_size, table_index } from '../src/linux/arch/x86/include/pgtable_types.js';
import { Prng } from '../src/sim/prng.js';

const byDivision = (level: number, addr: number): number => Math.floor(addr / entry_size(level)) % PTRS_PER_TABLE;

describe('table_index', () => {
  it('is floor(addr / entry size) mod 512 at every level, edges and random addresses up to 2^57', () => {
    const rng = new Prng(5);
    const addrs = [0, 1, 4095, 4096, 2 ** 21 - 1, 2 ** 21, 2 ** 30, 2 ** 39 - 1, 2 ** 47 - 4096, 2 ** 47, 2 ** 48 + 12345, 2 ** 57 - 1];
    for (let i = 0; i < 20000; i++) addrs.push(rng.next() * 2 ** 25 + rng.below(2 ** 25));
    for (let level = PTE_LEVEL; level <= PGD_LEVEL; level++) {
      for (const addr of addrs) expect(table_index(level, addr)).toBe(byDivision(level, addr));
    }
  });

  it('is NaN for a level no table has, and for an address that is none', () => {
    expect(table_index(PGD_LEVEL + 1, 4096)).toBeNaN();
    expect(table_index(PTE_LEVEL, -4096)).toBeNaN();
    expect(table_index(PTE_LEVEL, NaN)).toBeNaN();
  });
});
