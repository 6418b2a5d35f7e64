/**
 * `mmtrace query FILE SQL [--json|--csv]`: one SQL statement over a trace file, opened read-only
 * (a statement that would write is refused, the file untouched). `@NAME` runs queries/NAME.sql.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { didYouMean, errors } from '../errors.js';
import { openTrace } from '../trace/reader.js';
import { packageRoot } from '../version.js';
import { printJson, println, table } from './output.js';

/** The ready-made queries: queries/*.sql, by name. */
function savedQueries(): Map<string, string> {
  const dir = join(packageRoot(), 'queries');
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.sql')).sort()) out.set(f.slice(0, -4), join(dir, f));
  return out;
}

/** The SQL text: as given, or the saved query `@NAME`. */
function sqlOf(arg: string): string {
  if (!arg.startsWith('@')) return arg;
  const name = arg.slice(1);
  const saved = savedQueries();
  const path = saved.get(name);
  if (!path) throw errors.usage(`no saved query '${name}'${didYouMean(name, [...saved.keys()])} (saved: ${[...saved.keys()].join(', ') || 'none'}; see queries/)`);
  return readFileSync(path, 'utf8');
}

/** A value as text for the table and CSV: bytes as hex, NULL as empty. */
function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(v: unknown): string {
  const t = text(v);
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

export async function queryCommand(file: string, sqlArg: string, o: { json?: boolean; csv?: boolean }): Promise<void> {
  if (o.json && o.csv) throw errors.usage('--json and --csv: choose one');
  const sql = sqlOf(sqlArg);
  const trace = await openTrace(file);
  try {
    const { columns, rows } = trace.query(sql);
    if (o.json) {
      printJson({ columns, rows: rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] instanceof Uint8Array ? text(r[i]) : r[i]]))) });
    } else if (o.csv) {
      println([columns.map(csvField).join(','), ...rows.map((r) => r.map(csvField).join(','))].join('\n'));
    } else {
      println(table(columns, rows.map((r) => r.map(text))));
    }
  } finally {
    trace.close();
  }
}
