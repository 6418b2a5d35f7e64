/**
 * check_vma_flags(vma, gup_flags) (kernel-spec §6.5): every check, one case each, as unit tests.
 * VMAs need kernel() (object ids), so they are built inside the boot step of a tiny simulation and
 * the verdicts are collected there, then asserted outside.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { EFAULT, EOPNOTSUPP } from '../src/linux/include/errno.js';
import { create_file } from '../src/linux/mm/filemap.js';
import {
  FOLL_ANON, FOLL_FORCE, FOLL_LONGTERM, FOLL_PIN, FOLL_SPLIT_PMD, FOLL_WRITE, check_vma_flags,
} from '../src/linux/mm/gup.js';
import { generic_file_vm_ops, shmem_anon_vm_ops } from '../src/linux/mm/mmap.js';
import {
  MmStruct, VM_HUGETLB, VM_IO, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHADOW_STACK, VM_SHARED,
  VM_WRITE, VmAreaStruct, type VmOperations,
} from '../src/linux/mm/mm_types.js';
import { mm_alloc_pgd } from '../src/linux/mm/pgtable.js';
import { secretmem_vm_ops } from '../src/linux/mm/secretmem.js';
import { runBoot } from './helpers/harness.js';

type Kind = 'anon' | 'file' | 'shmem' | 'secretmem';

interface Case {
  title: string;
  vma: { flags: number; kind: Kind };
  gup: number;
  expected: number;
}

const RW_PRIVATE = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;
const RO_PRIVATE = VM_READ | VM_MAYREAD | VM_MAYWRITE; // PROT_READ, MAP_PRIVATE (a COW mapping)
const RW_SHARED = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_SHARED | VM_MAYSHARE; // PROT_READ|PROT_WRITE, MAP_SHARED
const RO_SHARED = VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_SHARED | VM_MAYSHARE; // PROT_READ, MAP_SHARED of a writable file
const NONE_PRIVATE = VM_MAYREAD | VM_MAYWRITE; // PROT_NONE, MAP_PRIVATE

// §6.5, in the kernel's order of checks.
const CASES: Case[] = [
  // 1. VM_IO | VM_PFNMAP -> -EFAULT, whatever else the flags allow (FOLL_FORCE does not help).
  { title: '1. VM_IO -> -EFAULT', vma: { flags: RW_PRIVATE | VM_IO, kind: 'file' }, gup: 0, expected: -EFAULT },
  { title: '1. VM_PFNMAP -> -EFAULT', vma: { flags: RW_PRIVATE | VM_PFNMAP, kind: 'file' }, gup: 0, expected: -EFAULT },
  { title: '1. VM_PFNMAP with FOLL_FORCE -> -EFAULT', vma: { flags: RW_PRIVATE | VM_PFNMAP, kind: 'file' }, gup: FOLL_FORCE, expected: -EFAULT },
  // 2. FOLL_ANON on a non-anonymous VMA (vm_ops != NULL) -> -EFAULT.
  { title: '2. FOLL_ANON on a private file mapping -> -EFAULT', vma: { flags: RO_PRIVATE, kind: 'file' }, gup: FOLL_ANON, expected: -EFAULT },
  { title: '2. FOLL_ANON on shared anonymous memory (shmem has vm_ops) -> -EFAULT', vma: { flags: RW_PRIVATE | VM_SHARED | VM_MAYSHARE, kind: 'shmem' }, gup: FOLL_ANON, expected: -EFAULT },
  { title: '2. FOLL_ANON|FOLL_FORCE on a file mapping -> -EFAULT', vma: { flags: RO_PRIVATE, kind: 'file' }, gup: FOLL_ANON | FOLL_FORCE, expected: -EFAULT },
  { title: '2. FOLL_ANON on an anonymous mapping -> 0', vma: { flags: RW_PRIVATE, kind: 'anon' }, gup: FOLL_ANON, expected: 0 },
  { title: '2. no FOLL_ANON: a file mapping is readable -> 0', vma: { flags: RO_PRIVATE, kind: 'file' }, gup: 0, expected: 0 },
  // 4. FOLL_SPLIT_PMD on hugetlb -> -EOPNOTSUPP (3, FOLL_LONGTERM on fsdax, has no fsdax to apply to).
  { title: '4. FOLL_SPLIT_PMD on hugetlb -> -EOPNOTSUPP', vma: { flags: RW_PRIVATE | VM_HUGETLB, kind: 'file' }, gup: FOLL_SPLIT_PMD, expected: -EOPNOTSUPP },
  { title: '4. FOLL_SPLIT_PMD on a normal anonymous mapping -> 0', vma: { flags: RW_PRIVATE, kind: 'anon' }, gup: FOLL_SPLIT_PMD, expected: 0 },
  { title: '4. hugetlb without FOLL_SPLIT_PMD -> 0', vma: { flags: RW_PRIVATE | VM_HUGETLB, kind: 'file' }, gup: 0, expected: 0 },
  { title: '2 before 4: FOLL_ANON|FOLL_SPLIT_PMD on hugetlb -> -EFAULT', vma: { flags: RW_PRIVATE | VM_HUGETLB, kind: 'file' }, gup: FOLL_ANON | FOLL_SPLIT_PMD, expected: -EFAULT },
  // 5. secretmem -> -EFAULT, even for an allowed read.
  { title: '5. secretmem read -> -EFAULT', vma: { flags: RW_PRIVATE | VM_SHARED | VM_MAYSHARE, kind: 'secretmem' }, gup: 0, expected: -EFAULT },
  { title: '5. secretmem FOLL_FORCE read -> -EFAULT', vma: { flags: RW_PRIVATE | VM_SHARED | VM_MAYSHARE, kind: 'secretmem' }, gup: FOLL_FORCE, expected: -EFAULT },
  // 6. write.
  { title: '6. write to a writable mapping -> 0', vma: { flags: RW_PRIVATE, kind: 'anon' }, gup: FOLL_WRITE, expected: 0 },
  { title: '6. write without VM_WRITE, no FOLL_FORCE -> -EFAULT', vma: { flags: RO_PRIVATE, kind: 'anon' }, gup: FOLL_WRITE, expected: -EFAULT },
  { title: '6. FOLL_FORCE write to a shared read-only mapping -> -EFAULT (not COW)', vma: { flags: RO_SHARED, kind: 'file' }, gup: FOLL_WRITE | FOLL_FORCE, expected: -EFAULT },
  { title: '6. FOLL_FORCE write to a shared mapping of a read-only file (no VM_MAYWRITE) -> -EFAULT', vma: { flags: VM_READ | VM_MAYREAD | VM_MAYSHARE, kind: 'file' }, gup: FOLL_WRITE | FOLL_FORCE, expected: -EFAULT },
  { title: '6. FOLL_FORCE write to a private read-only (COW) file mapping -> 0', vma: { flags: RO_PRIVATE, kind: 'file' }, gup: FOLL_WRITE | FOLL_FORCE, expected: 0 },
  { title: '6. FOLL_FORCE write to a private read-only (COW) anon mapping -> 0', vma: { flags: RO_PRIVATE, kind: 'anon' }, gup: FOLL_WRITE | FOLL_FORCE, expected: 0 },
  { title: '6. FOLL_FORCE write to a private PROT_NONE mapping -> 0 (only COW matters for writes)', vma: { flags: NONE_PRIVATE, kind: 'anon' }, gup: FOLL_WRITE | FOLL_FORCE, expected: 0 },
  // 6. write: writable_file_mapping_allowed(): a long-term pin may not write a file that needs dirty tracking.
  { title: '6. FOLL_PIN|FOLL_LONGTERM write to a shared writable file mapping -> -EFAULT (writable_file_mapping_allowed)', vma: { flags: RW_SHARED, kind: 'file' }, gup: FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM, expected: -EFAULT },
  { title: '6. FOLL_PIN write (not long-term) to a shared writable file mapping -> 0', vma: { flags: RW_SHARED, kind: 'file' }, gup: FOLL_WRITE | FOLL_PIN, expected: 0 },
  { title: '6. FOLL_PIN|FOLL_LONGTERM write to shared anonymous memory (shmem: no writeback) -> 0', vma: { flags: RW_SHARED, kind: 'shmem' }, gup: FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM, expected: 0 },
  { title: '6. FOLL_PIN|FOLL_LONGTERM write to a private file mapping (COW, no dirty tracking) -> 0', vma: { flags: RW_PRIVATE, kind: 'file' }, gup: FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM, expected: 0 },
  // 6. write: a shadow stack is written like a read-only mapping, VM_WRITE or not.
  { title: '6. write to a VM_SHADOW_STACK mapping, no FOLL_FORCE -> -EFAULT', vma: { flags: RW_PRIVATE | VM_SHADOW_STACK, kind: 'anon' }, gup: FOLL_WRITE, expected: -EFAULT },
  { title: '6. FOLL_FORCE write to a private VM_SHADOW_STACK mapping -> 0 (COW)', vma: { flags: RW_PRIVATE | VM_SHADOW_STACK, kind: 'anon' }, gup: FOLL_WRITE | FOLL_FORCE, expected: 0 },
  { title: '6. read of a VM_SHADOW_STACK mapping -> 0', vma: { flags: RW_PRIVATE | VM_SHADOW_STACK, kind: 'anon' }, gup: 0, expected: 0 },
  // 6. write: hugetlb takes FOLL_FORCE writes like any COW mapping (mm/gup.c has no hugetlb reject).
  { title: '6. FOLL_FORCE write to a private read-only hugetlb mapping -> 0', vma: { flags: RO_PRIVATE | VM_HUGETLB, kind: 'file' }, gup: FOLL_WRITE | FOLL_FORCE, expected: 0 },
  { title: '6. write to a private read-only hugetlb mapping, no FOLL_FORCE -> -EFAULT', vma: { flags: RO_PRIVATE | VM_HUGETLB, kind: 'file' }, gup: FOLL_WRITE, expected: -EFAULT },
  // 6. read.
  { title: '6. read without VM_READ, no FOLL_FORCE -> -EFAULT', vma: { flags: NONE_PRIVATE, kind: 'anon' }, gup: 0, expected: -EFAULT },
  { title: '6. FOLL_FORCE read of PROT_NONE with VM_MAYREAD -> 0', vma: { flags: NONE_PRIVATE, kind: 'anon' }, gup: FOLL_FORCE, expected: 0 },
  { title: '6. FOLL_FORCE read of PROT_NONE without VM_MAYREAD -> -EFAULT', vma: { flags: VM_MAYWRITE, kind: 'anon' }, gup: FOLL_FORCE, expected: -EFAULT },
  { title: '6. read of a write-only mapping (no VM_READ) -> -EFAULT', vma: { flags: VM_WRITE | VM_MAYREAD | VM_MAYWRITE, kind: 'anon' }, gup: 0, expected: -EFAULT },
  { title: '6. plain read of a readable mapping -> 0', vma: { flags: RO_PRIVATE, kind: 'anon' }, gup: 0, expected: 0 },
];

/** Build every case's VMA in one simulation step and return check_vma_flags' verdicts. */
function verdicts(): number[] {
  const out: number[] = [];
  runBoot(function* (): Gen {
    const mm = new MmStruct(100);
    yield* mm_alloc_pgd(mm);
    const file = yield* create_file('/data/file', new Uint8Array(8192));
    const ops: Record<Kind, VmOperations | null> = {
      anon: null, file: generic_file_vm_ops, shmem: shmem_anon_vm_ops, secretmem: secretmem_vm_ops,
    };
    let start = 0x10000000;
    for (const c of CASES) {
      const vma = new VmAreaStruct(mm, start, start + 0x2000);
      vma.vm_flags = c.vma.flags;
      vma.vm_ops = ops[c.vma.kind];
      vma.vm_file = c.vma.kind === 'anon' ? null : file;
      start += 0x10000;
      out.push(check_vma_flags(vma, c.gup));
    }
  });
  return out;
}

describe('check_vma_flags (kernel-spec §6.5)', () => {
  const got = verdicts();
  CASES.forEach((c, i) => {
    it(`§6.5 ${c.title}`, () => {
      expect(got[i]).toBe(c.expected);
    });
  });
});
