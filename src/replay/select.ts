/**
 * `--until` selectors (DESIGN.md): an event number `N`, `end`, `first-warning`, or a filter such as
 * `kind=vma_end_read,task=monitor,n=3` -- the n-th event matching every condition (n defaults to
 * 1). Other keys name fields of the kind (`kind=copy,folio=42`), a coded field by its value's name
 * (`kind=rwsem_acquire,mode=write`).
 */
import { MmtraceError } from '../errors.js';
import type { EventFilter, RunInfo, Trace } from '../trace/reader.js';
import { kindByName } from '../trace/vocab/index.js';

function bad(sel: string, why: string): MmtraceError {
  return new MmtraceError('EBADSEL', `--until=${sel}: ${why}`);
}

/** The event number a selector names in this run. */
export function resolveSelector(trace: Trace, run: RunInfo, sel: string): number {
  const last = run.events;
  if (last === 0) throw bad(sel, 'the run has no events');
  if (sel === 'end') return last;
  if (/^\d+$/.test(sel)) {
    const n = Number(sel);
    if (n < 1 || n > last) throw bad(sel, `event ${n} is outside this run (events 1..${last})`);
    return n;
  }
  if (sel === 'first-warning') return firstWarning(trace, run, sel);
  return nthMatch(trace, run, sel, parseConditions(sel));
}

/** The first event of the check family (a warning, a deadlock, a failed assertion). */
function firstWarning(trace: Trace, run: RunInfo, sel: string): number {
  const checks = trace.kinds().filter((k) => k.family === 'check').map((k) => k.name);
  const seq = trace.findEvent(run.id, { kinds: checks });
  if (seq === undefined) throw bad(sel, 'this run has no warning or other check event');
  return seq;
}

/** `kind=K,task=T,n=N,FIELD=V`: KEY=VALUE conditions by key. */
function parseConditions(sel: string): Record<string, string> {
  const conds: Record<string, string> = {};
  for (const part of sel.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(sel, `'${part}' is not KEY=VALUE (use N, end, first-warning, or kind=...,task=...,n=...)`);
    conds[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return conds;
}

/** The n-th event matching every condition. */
function nthMatch(trace: Trace, run: RunInfo, sel: string, conds: Record<string, string>): number {
  const filter: EventFilter = {};
  const kind = conds.kind === undefined ? undefined : trace.kinds().find((k) => k.name === conds.kind);
  if (conds.kind !== undefined) {
    if (!kind) throw bad(sel, `unknown event kind '${conds.kind}'`);
    filter.kinds = [kind.name];
  }
  if (conds.task !== undefined) filter.tids = taskIds(trace, run, sel, conds.task);
  const n = conds.n === undefined ? 1 : matchNumber(sel, conds.n, run.events);
  const names = trace.names(run.id);
  const fields: Record<string, number> = {};
  for (const [key, value] of Object.entries(conds)) {
    if (key === 'kind' || key === 'task' || key === 'n') continue;
    const known = kind ? kind.fields.filter((f): f is string => f !== null) : [];
    if (!known.includes(key)) {
      throw bad(sel, kind === undefined
        ? `a field condition (${key}=) needs kind= first`
        : `kind ${kind.name} has no field '${key}' (fields: ${known.join(', ')})`);
    }
    fields[key] = kind!.names.includes(key) ? nameId(sel, names, value) : codedValue(sel, kind!.name, key, value);
  }
  if (Object.keys(fields).length > 0) filter.fields = fields;
  const seq = trace.findEvent(run.id, filter, n);
  if (seq === undefined) throw bad(sel, n > 1 ? `fewer than ${n} events match` : 'no event matches');
  return seq;
}

/** The tids of the tasks a `task=` condition names (by name or tid). */
function taskIds(trace: Trace, run: RunInfo, sel: string, task: string): number[] {
  const tasks = trace.tasks(run.id);
  const named = tasks.filter((t) => t.name === task || String(t.tid) === task);
  if (named.length === 0) throw bad(sel, `no task '${task}' (tasks: ${tasks.map((t) => t.name).join(', ')})`);
  return named.map((t) => t.tid);
}

function matchNumber(sel: string, raw: string, events: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw bad(sel, `n must be a positive integer, got '${raw}'`);
  const n = Number(raw);
  if (n > events) throw bad(sel, `fewer than ${raw} events match (the run has ${events} events)`);
  return n;
}

/** A name field's condition compares the interned id of its text. */
function nameId(sel: string, names: readonly string[], text: string): number {
  const id = names.indexOf(text);
  if (id < 0) throw bad(sel, `no name '${text}' in this run`);
  return id;
}

/**
 * A field's stored value: an integer, or the name of a code (`mode=write`, `result=ok`,
 * `success=true`) as the vocabulary spells the field's enum.
 */
function codedValue(sel: string, kind: string, key: string, raw: string): number {
  const type = kindByName(kind)?.types[kindByName(kind)!.fields.indexOf(key)];
  if (type === 'bool' && (raw === 'true' || raw === 'false')) return raw === 'true' ? 1 : 0;
  if (typeof type === 'object' && type.kind === 'enum' && Object.hasOwn(type.codes, raw)) return (type.codes as Record<string, number>)[raw]!;
  return integer(sel, key, raw);
}

function integer(sel: string, key: string, raw: string): number {
  const v = Number(raw);
  if (raw === '' || !Number.isSafeInteger(v)) throw bad(sel, `${key} must be an integer, got '${raw}'`);
  return v;
}
