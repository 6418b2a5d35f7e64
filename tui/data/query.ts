/**
 * What `f` (filter) and `/` (search) take: terms separated by spaces or commas, each one of
 *
 *   kind=K or K              events of that kind (several kinds: any of them)
 *   family=F or F            events of a family (lock, pagetable, folio, copy, vma, call, request, sched, check)
 *   task=T or T              events of a task (by name or tid)
 *   addr=ADDR                events with an address field in ADDR's page (every kind that has one)
 *   req=TASK:N               the events of that task's N-th request, from request_begin to request_end
 *   FIELD=VALUE              a field of the one kind named (an enum by name, a name by text)
 *   anything else            text the event's line contains (search only: SQL cannot see it)
 *
 * Everything but text becomes one SQL condition on the events table, so a filter pages and a search
 * jumps straight to the next match however long the run.
 */
import type { EventFilter } from '../../src/trace/reader.js';
import { FAMILY_NAMES, isKindName, KINDS, kindByName } from '../../src/trace/vocab/index.js';
import type { RunSource } from './run-source.js';

export interface Query {
  /** The SQL side; null when the query is text alone. */
  filter: EventFilter | null;
  /** Lower-case text the line must contain, or null. */
  text: string | null;
  /** The query as typed, for the status line. */
  source: string;
}

export class QueryError extends Error {}

const PAGE = 4096;

/** Every (kind, field) holding an address: what `addr=` compares. */
const ADDRESS_FIELDS = KINDS.flatMap((k) => k.fields.filter((_, i) => k.types[i] === 'addr').map((field) => ({ kind: k.name, field })));

function parseNumber(raw: string): number | undefined {
  if (!/^(0x[0-9a-f]+|-?\d+)$/i.test(raw)) return undefined;
  const v = Number(raw);
  return Number.isSafeInteger(v) ? v : undefined;
}

interface Terms {
  kinds: Set<string>;
  families: Set<string>;
  task: string | null;
  fields: Record<string, string>;
  addr: number | null;
  request: string | null;
  text: string[];
}

function splitTerms(text: string): Terms {
  const t: Terms = { kinds: new Set(), families: new Set(), task: null, fields: {}, addr: null, request: null, text: [] };
  for (const term of text.split(/[\s,]+/).filter(Boolean)) {
    const eq = term.indexOf('=');
    const key = eq > 0 ? term.slice(0, eq) : null;
    const value = eq > 0 ? term.slice(eq + 1) : term;
    if (key === 'kind' || (key === null && isKindName(term))) t.kinds.add(value);
    else if (key === 'family' || (key === null && (FAMILY_NAMES as readonly string[]).includes(term))) t.families.add(value);
    else if (key === 'task') t.task = value;
    else if (key === 'addr') t.addr = parseAddr(value);
    else if (key === 'req' || key === 'request') t.request = value;
    else if (key !== null) t.fields[key] = value;
    else t.text.push(term.toLowerCase());
  }
  return t;
}

function parseAddr(raw: string): number {
  const v = parseNumber(raw);
  if (v === undefined || v < 0) throw new QueryError(`addr=${raw}: not an address (0x7f0000001000 or a decimal)`);
  return v;
}

/** The kinds the query allows: the kinds named, narrowed to the families named. */
function kindsOf(t: Terms): string[] | undefined {
  for (const k of t.kinds) if (!isKindName(k)) throw new QueryError(`unknown event kind '${k}'`);
  for (const f of t.families) if (!(FAMILY_NAMES as readonly string[]).includes(f)) throw new QueryError(`unknown family '${f}' (families: ${FAMILY_NAMES.join(', ')})`);
  if (t.kinds.size === 0 && t.families.size === 0) return undefined;
  const inFamilies = t.families.size === 0 ? null : KINDS.filter((k) => t.families.has(k.family)).map((k) => k.name as string);
  if (t.kinds.size === 0) return inFamilies!;
  return [...t.kinds].filter((k) => inFamilies === null || inFamilies.includes(k));
}

/** A field condition's stored value: a number, an enum's code, or an interned name's id. */
function fieldValue(kind: string, field: string, raw: string, source: RunSource): number {
  const def = kindByName(kind)!;
  const i = def.fields.indexOf(field);
  if (i < 0) throw new QueryError(`kind ${kind} has no field '${field}' (fields: ${def.fields.join(', ')})`);
  const type = def.types[i]!;
  if (type === 'name') {
    const id = source.names.names.indexOf(raw);
    if (id < 0) throw new QueryError(`no name '${raw}' in this run`);
    return id;
  }
  if (typeof type === 'object' && type.kind === 'enum' && raw in type.codes) return (type.codes as Record<string, number>)[raw]!;
  if (type === 'bool' && (raw === 'true' || raw === 'false')) return raw === 'true' ? 1 : 0;
  const v = parseNumber(raw);
  if (v === undefined) throw new QueryError(`${field}=${raw}: not a value of this field`);
  return v;
}

/** The seq range and task of request `TASK:N`. */
function requestRange(spec: string, source: RunSource): { range: [number, number]; tids: number[] } {
  const m = /^(.+):(\d+)$/.exec(spec);
  if (!m) throw new QueryError(`req=${spec}: name a request as TASK:N (monitor:3)`);
  const tids = source.tidsNamed(m[1]!);
  if (tids.length === 0) throw new QueryError(`req=${spec}: no task '${m[1]}'`);
  const first = source.trace.findEvent(source.run.id, { kinds: ['request_begin'], tids, fields: { req: Number(m[2]) } });
  if (first === undefined) throw new QueryError(`req=${spec}: no such request in this run`);
  const last = source.trace.matchingEvents(source.run.id, { kinds: ['request_end'], tids, fields: { req: Number(m[2]) } }, first, 1, 'forward')[0]?.[0];
  return { range: [first, last ?? source.count], tids };
}

/** Parse a filter or search; `allowText`: whether free text may be part of it (search yes, filter no). */
export function parseQuery(text: string, source: RunSource, allowText: boolean): Query {
  const t = splitTerms(text.trim());
  if (text.trim() === '') throw new QueryError('empty query');
  if (t.text.length > 0 && !allowText) {
    throw new QueryError(`'${t.text[0]}' is not kind, family, task=, addr=, req= or FIELD=VALUE`);
  }
  const filter: EventFilter = {};
  const kinds = kindsOf(t);
  if (kinds) filter.kinds = kinds;
  const taskName = t.task;
  if (taskName !== null) {
    filter.tids = source.tidsNamed(taskName);
    if (filter.tids.length === 0) throw new QueryError(`no task '${taskName}' (tasks: ${[...source.names.taskNames.values()].join(', ')})`);
  }
  // a bare word that names a task means the task (`monitor`), not the text
  const bareTask = taskName === null ? t.text.find((w) => source.tidsNamed(w).length > 0) : undefined;
  if (bareTask !== undefined) {
    filter.tids = source.tidsNamed(bareTask);
    t.text = t.text.filter((w) => w !== bareTask);
  }
  const fieldEntries = Object.entries(t.fields);
  if (fieldEntries.length > 0) {
    if (kinds?.length !== 1) throw new QueryError(`a field condition (${fieldEntries[0]![0]}=) needs exactly one kind`);
    filter.fields = Object.fromEntries(fieldEntries.map(([f, v]) => [f, fieldValue(kinds[0]!, f, v, source)]));
  }
  if (t.addr !== null) {
    const lo = t.addr - (t.addr % PAGE);
    filter.anyField = ADDRESS_FIELDS.filter((a) => !kinds || kinds.includes(a.kind)).map((a) => ({ ...a, lo, hi: lo + PAGE - 1 }));
    if (filter.anyField.length === 0) throw new QueryError('none of the kinds named has an address field');
  }
  if (t.request !== null) {
    const { range, tids } = requestRange(t.request, source);
    filter.seqRanges = [range];
    filter.tids = filter.tids ? filter.tids.filter((x) => tids.includes(x)) : tids;
  }
  const hasSql = Object.keys(filter).length > 0;
  return { filter: hasSql ? filter : null, text: t.text.length ? t.text.join(' ') : null, source: text.trim() };
}

/** Does an event's line contain the query's text? */
export function lineMatches(q: Query, line: { task: string; kind: string; fields: string }): boolean {
  if (q.text === null) return true;
  const hay = `${line.task} ${line.kind} ${line.fields}`.toLowerCase();
  return q.text.split(' ').every((w) => hay.includes(w));
}
