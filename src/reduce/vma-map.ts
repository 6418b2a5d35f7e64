/**
 * The VMAs of every mm, followed through their events, so that an address can be named by the VMA
 * that covered it at that moment. A VMA id is a slab object that may be reused after vma_free
 * (SLAB_TYPESAFE_BY_RCU): vma_create starts its record afresh, and `createdAt` tells two lives of
 * one id apart.
 */
import type { TraceEvent } from '../trace/vocab/index.js';
import type { Reducer } from './reducer.js';

/** A VMA as it is now. */
export interface VmaRecord {
  vma: number;
  mm: number;
  start: number;
  end: number;
  /** The mapped file's name, null for anonymous memory. */
  file: string | null;
  pgoff: number;
  /** vm_flags (VmFlags bits). */
  flags: number;
  attached: boolean;
  /** Seq of its vma_create. */
  createdAt: number;
}

export class VmaMap implements Reducer {
  readonly kinds = ['vma_create', 'vma_init', 'vma_mark_attached', 'vma_mark_detached', 'vma_adjust', 'vma_flags', 'vma_free'] as const;
  private readonly byId = new Map<number, VmaRecord>();
  /** Attached VMAs per mm: what a lookup of an address in that mm can find. */
  private readonly attachedByMm = new Map<number, Set<VmaRecord>>();
  private readonly listeners: ((mm: number | undefined) => void)[] = [];
  /** Per mm, the VMA at() found last. */
  private readonly lastFound = new Map<number, VmaRecord>();

  /** Call `fn` after every change to a VMA's range, attachment or flags, with its mm (if known). */
  onChange(fn: (mm: number | undefined) => void): void {
    this.listeners.push(fn);
  }

  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'vma_create':
        this.detach(e.vma);
        this.byId.set(e.vma, { vma: e.vma, mm: e.mm, start: e.start, end: e.end, file: null, pgoff: 0, flags: 0, attached: false, createdAt: e.seq });
        this.notify(e.mm);
        break;
      case 'vma_init': {
        const v = this.byId.get(e.vma);
        if (v) {
          v.file = e.file === '' ? null : e.file;
          v.pgoff = e.pgoff;
          v.flags = e.flags;
        }
        break;
      }
      case 'vma_mark_attached': {
        const v = this.byId.get(e.vma);
        if (v) {
          v.start = e.start;
          v.end = e.end;
          this.attach(v);
        }
        this.changed(e.vma);
        break;
      }
      case 'vma_mark_detached':
        this.detach(e.vma);
        this.changed(e.vma);
        break;
      case 'vma_adjust': {
        const v = this.byId.get(e.vma);
        if (v) {
          v.start = e.start;
          v.end = e.end;
          v.pgoff = e.pgoff;
        }
        this.changed(e.vma);
        break;
      }
      case 'vma_flags': {
        const v = this.byId.get(e.vma);
        if (v) v.flags = e.new;
        this.changed(e.vma);
        break;
      }
      case 'vma_free':
        this.detach(e.vma);
        break;
    }
  }

  /** The mm a VMA id belongs to now. */
  mmOf(vma: number): number | undefined {
    return this.byId.get(vma)?.mm;
  }

  /** The VMA record of an id, as it is now (live: it changes with later events). */
  get(vma: number): VmaRecord | undefined {
    return this.byId.get(vma);
  }

  /** The attached VMA of `mm` covering addr, as it is now (live). */
  at(mm: number, addr: number): VmaRecord | undefined {
    // Lookups come in runs (one request's copies): the VMA found last for this mm is tried first.
    const last = this.lastFound.get(mm);
    if (last !== undefined && last.attached && last.mm === mm && last.start <= addr && addr < last.end) return last;
    for (const v of this.attachedByMm.get(mm) ?? []) {
      if (v.start <= addr && addr < v.end) {
        this.lastFound.set(mm, v);
        return v;
      }
    }
    return undefined;
  }

  private changed(vma: number): void {
    this.notify(this.mmOf(vma));
  }

  private notify(mm: number | undefined): void {
    for (const fn of this.listeners) fn(mm);
  }

  private attach(v: VmaRecord): void {
    v.attached = true;
    let set = this.attachedByMm.get(v.mm);
    if (!set) this.attachedByMm.set(v.mm, (set = new Set()));
    set.add(v);
  }

  private detach(vma: number): void {
    const v = this.byId.get(vma);
    if (!v) return;
    v.attached = false;
    this.attachedByMm.get(v.mm)?.delete(v);
  }
}
