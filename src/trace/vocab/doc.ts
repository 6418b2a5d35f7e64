/**
 * The vocabulary as a reference page (docs/events.md), generated from the declarations so the page
 * cannot drift from the code: `test/vocab.test.ts` fails when the committed page differs.
 */
import type { EnumDef, FieldType, FlagsDef } from './define.js';
import { FAMILY_NAMES, KINDS, SCHEMA_VERSION } from './index.js';
import { DepositOp, PgtableFreeMode, PtLevel, PteBits, VmFault } from './pagetable.js';
import { FolioReferences, LruList, PageFlags } from './folio.js';
import { RwsemHow, RwsemMode, VmaReadResult } from './lock.js';
import { GupFlags } from './request.js';
import { Signal } from './sched.js';
import { VmFlags } from './vma.js';

const ENUMS: readonly EnumDef[] = [RwsemMode, RwsemHow, VmaReadResult, PtLevel, PgtableFreeMode, DepositOp, LruList, FolioReferences, Signal];
const FLAGS: readonly FlagsDef[] = [PageFlags, VmFlags, VmFault, GupFlags, PteBits];

function typeText(type: FieldType): string {
  return typeof type === 'string' ? type : `${type.kind} \`${type.table}\``;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function eventsMarkdown(): string {
  const out: string[] = [
    '# Events',
    '',
    `<!-- Generated from src/trace/vocab/ by eventsMarkdown(); test/vocab.test.ts keeps it current. -->`,
    '',
    `Schema version ${SCHEMA_VERSION}. Every event has \`seq\` (its place in the run), \`tick\` (virtual time),`,
    '`tid` (the emulated task; 0 is the simulator itself) and the fields of its kind. In the file, the',
    'fields sit in the numeric columns `a`..`d` in the order listed here, and the `kinds` table of each',
    'file records that layout; `events_v` shows them by name.',
    '',
    'Field types: `int` a count, tick or result (-errno when negative); `id` an object of the model;',
    '`addr` a virtual address; `hash` a 32-bit FNV-1a of bytes; `entry` an x86-64 page-table entry',
    '(pfn << 12 | `_PAGE_*` bits); `name` an interned name, read as text; `bool` 0 or 1; `enum` a code',
    'read by name (tables below); `flags` a bit set (tables below).',
    '',
  ];
  for (const family of FAMILY_NAMES) {
    out.push(`## ${family}`, '', '| kind | # | fields | cost | what it says |', '|---|---|---|---|---|');
    for (const d of KINDS.filter((k) => k.family === family)) {
      const fields = d.fields.map((f, i) => `\`${f}\`: ${typeText(d.types[i]!)}`);
      if (d.blobField) fields.push(`\`${d.blobField.name}\`: blob (${d.blobField.type})`);
      const cost = d.costPerByteSlot >= 0 ? `${d.cost} + ${d.fields[d.costPerByteSlot]}/8` : String(d.cost);
      out.push(`| \`${d.name}\` | ${d.kind} | ${fields.join(', ') || '-'} | ${cost} | ${d.doc.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  out.push('## Coded values', '');
  for (const e of ENUMS) {
    const codes = e.names.map((n, code) => (n === undefined ? '' : `${code} \`${n}\``)).filter(Boolean);
    out.push(`- enum \`${e.table}\`: ${codes.join(', ')}`);
  }
  for (const f of FLAGS) {
    const bits = Object.entries(f.bits as Record<string, number>).map(([n, bit]) => `\`${n}\` ${hex(bit)}`);
    for (const [n, mask] of Object.entries(f.fields)) bits.push(`\`${n}\` field ${hex(mask)}`);
    out.push(`- flags \`${f.table}\`: ${bits.join(', ')}`);
  }
  out.push('');
  return out.join('\n');
}
