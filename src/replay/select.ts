/**
 * `--until` selectors (DESIGN.md): an event number `N`, `end`, `first-warning`, or a filter such as
 * `kind=vma_end_read,task=monitor,n=3` -- the n-th event matching every condition (n defaults to
 * 1). Other keys name fields of the kind (`kind=copy,folio=42`).
 */
import { MmtraceError } from '../errors.js';
import type { RunInfo, Trace } from '../trace/reader.js';

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
  const kinds = trace.kinds();
  if (sel === 'first-warning') {
    const checks = kinds.filter((k) => k.family === 'check').map((k) => k.kind);
    const row = trace.db.prepare(
      `SELECT seq FROM events WHERE run = ? AND kind IN (${checks.map(() => '?').join(',')}) ORDER BY seq LIMIT 1`,
    ).get(run.id, ...checks) as { seq: number } | undefined;
    if (!row) throw bad(sel, 'this run has no warning or other check event');
    return row.seq;
  }
  const conds: Record<string, string> = {};
  for (const part of sel.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(sel, `'${part}' is not KEY=VALUE (use N, end, first-warning, or kind=...,task=...,n=...)`);
    conds[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const where: string[] = ['run = ?'];
  const args: (string | number)[] = [run.id];
  let kindFields: string[] = [];
  let kindNames: string[] = [];
  if (conds.kind !== undefined) {
    const k = kinds.find((x) => x.name === conds.kind);
    if (!k) throw bad(sel, `unknown event kind '${conds.kind}'`);
    where.push('kind = ?');
    args.push(k.kind);
    kindFields = k.fields.filter((f): f is string => f !== null);
    kindNames = k.names;
  }
  if (conds.task !== undefined) {
    const tasks = trace.tasks(run.id).filter((t) => t.name === conds.task || String(t.tid) === conds.task);
    if (tasks.length === 0) {
      throw bad(sel, `no task '${conds.task}' (tasks: ${trace.tasks(run.id).map((t) => t.name).join(', ')})`);
    }
    where.push(`tid IN (${tasks.map(() => '?').join(',')})`);
    args.push(...tasks.map((t) => t.tid));
  }
  let n = 1;
  if (conds.n !== undefined) {
    if (!/^\d+$/.test(conds.n) || Number(conds.n) < 1) throw bad(sel, `n must be a positive integer, got '${conds.n}'`);
    n = Number(conds.n);
    if (n > last) throw bad(sel, `fewer than ${conds.n} events match (the run has ${last} events)`);
  }
  const names = trace.names(run.id);
  for (const [key, value] of Object.entries(conds)) {
    if (key === 'kind' || key === 'task' || key === 'n') continue;
    const i = kindFields.indexOf(key);
    if (i < 0) {
      throw bad(sel, conds.kind === undefined
        ? `a field condition (${key}=) needs kind= first`
        : `kind ${conds.kind} has no field '${key}' (fields: ${kindFields.join(', ')})`);
    }
    let v: number;
    if (kindNames.includes(key)) {
      v = names.indexOf(value);
      if (v < 0) throw bad(sel, `no name '${value}' in this run`);
    } else {
      v = Number(value);
      if (value === '' || !Number.isSafeInteger(v)) throw bad(sel, `${key} must be an integer, got '${value}'`);
    }
    where.push(`${'abcd'[i]} = ?`);
    args.push(v);
  }
  const row = trace.db.prepare(`SELECT seq FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT 1 OFFSET ?`)
    .get(...args, n - 1) as { seq: number } | undefined;
  if (!row) throw bad(sel, n > 1 ? `fewer than ${n} events match` : 'no event matches');
  return row.seq;
}
