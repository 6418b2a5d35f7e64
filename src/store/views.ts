/**
 * The views for plain `sqlite3` users, generated from the `kinds` table of the file (so they follow
 * the vocabulary the file was written with, not the one of the code that opens it).
 *
 *  events_v:   run (name), seq, tick, tid, task (name; `sim` for tid 0, as reduce/read-run.ts's SIM_TASK), kind (name), family, then
 *              one column per distinct field name across all kinds (CASE on the row's kind; fields
 *              that hold an interned name show its text), then FIELD_name for coded fields (from
 *              the codes table) and FIELD_hex for addresses, entries and hashes.
 *  requests_v: run, request (task:req), task, op, addr, len, flags, result, data_hash, first_seq,
 *              last_seq, addr_hex, data_hash_hex: one row per request_begin, paired with the
 *              request_end of the same task and req (NULL end columns when the request never ended).
 *  fallbacks_v: run, request, task, seq, reason, addr, addr_hex, copied: the fast path's fallbacks.
 *  waits_v, lock_waits_v: every wait, and those on an rwsem with its class and mode.
 *  vma_spans_v: each VMA's ranges over time; copies_v: every copy with the VMA it read.
 *  one view per enum and flag set (rwsem_modes, pt_levels, lru_lists, page_flags ...): code, name.
 */
import type Database from 'better-sqlite3';
import { layoutOfRow, SLOTS, slotOf, type KindLayout, type Slot } from './layout.js';
import type { KindsTable } from './schema.js';
import { chunkEventsViewSql, eventsViewSql as eventsUnionSql, overSources, sourcesOf, type EventSource } from './chunk-sql.js';

/** Columns events_v has before the fields; a field with one of these names gets an `f_` prefix. */
const BASE_COLUMNS = new Set(['run', 'seq', 'tick', 'tid', 'task', 'kind', 'family']);

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The events_v column name of a field. */
export function fieldColumn(field: string): string {
  return BASE_COLUMNS.has(field) ? `f_${field}` : field;
}

function nameText(slotExpr: string): string {
  return `(SELECT n.text FROM names n WHERE n.run = e.run AND n.id = ${slotExpr})`;
}

export function eventsViewSql(kinds: readonly KindLayout[], sources: readonly EventSource[]): string {
  // field -> (slot, isName) -> kinds
  const fields = new Map<string, Map<string, number[]>>();
  for (const k of kinds) {
    k.fields.forEach((f, i) => {
      if (!f) return;
      const key = `${SLOTS[i]}:${k.names.includes(f) ? 1 : 0}`;
      let m = fields.get(f);
      if (!m) fields.set(f, (m = new Map()));
      let list = m.get(key);
      if (!list) m.set(key, (list = []));
      list.push(k.kind);
    });
  }
  const cols: string[] = [];
  for (const [field, m] of fields) {
    const whens: string[] = [];
    for (const [key, list] of m) {
      const [slot, isName] = key.split(':') as [Slot, string];
      const expr = isName === '1' ? nameText(`e.${slot}`) : `e.${slot}`;
      whens.push(`WHEN e.kind IN (${list.join(', ')}) THEN ${expr}`);
    }
    cols.push(`  CASE ${whens.join(' ')} END AS ${quoteIdent(fieldColumn(field))}`);
  }
  cols.push(...readableColumns(kinds));
  return overSources('events_v', sources, (src) => `SELECT r.name AS run, e.seq, e.tick, e.tid, coalesce(t.name, CASE WHEN e.tid = 0 THEN 'sim' END) AS task, k.name AS kind, k.family${cols.length ? ',\n' + cols.join(',\n') : ''}
FROM ${src.events} e
JOIN runs r ON r.id = e.run
LEFT JOIN tasks t ON t.run = e.run AND t.tid = e.tid
LEFT JOIN kinds k ON k.kind = e.kind`);
}

/**
 * How a stored integer reads, by field type: an enum's code as its name (`mode_name`), an address,
 * page-table entry or hash in hex (`addr_hex`), as the CLI prints them.
 */
function readableExpr(type: string, slotExpr: string): { suffix: string; expr: string } | null {
  if (type.startsWith('enum:')) {
    const table = type.slice('enum:'.length).replace(/'/g, "''");
    return { suffix: '_name', expr: `(SELECT c.name FROM codes c WHERE c.tbl = '${table}' AND c.code = ${slotExpr})` };
  }
  if (type === 'addr' || type === 'entry') return { suffix: '_hex', expr: hexOf(slotExpr, '0x%x') };
  if (type === 'hash') return { suffix: '_hex', expr: hexOf(slotExpr, '%08x') };
  return null;
}

/** The events_v columns that read coded and hex fields (from the kinds table's types). */
function readableColumns(kinds: readonly KindLayout[]): string[] {
  // column -> expression -> kinds
  const columns = new Map<string, Map<string, number[]>>();
  for (const k of kinds) {
    k.fields.forEach((f, i) => {
      const type = k.types?.[i];
      const readable = f && type ? readableExpr(type, `e.${SLOTS[i]}`) : null;
      if (!f || !readable) return;
      const column = `${fieldColumn(f)}${readable.suffix}`;
      let byExpr = columns.get(column);
      if (!byExpr) columns.set(column, (byExpr = new Map()));
      byExpr.set(readable.expr, [...(byExpr.get(readable.expr) ?? []), k.kind]);
    });
  }
  return [...columns].map(([column, byExpr]) => {
    const whens = [...byExpr].map(([expr, list]) => `WHEN e.kind IN (${list.join(', ')}) THEN ${expr}`);
    return `  CASE ${whens.join(' ')} END AS ${quoteIdent(column)}`;
  });
}

/** A view of each of the file's tables of coded values (`rwsem_modes`...): its codes and names. */
function codeViewCreates(db: Database.Database): string[] {
  const tables = (db.prepare('SELECT DISTINCT tbl FROM codes ORDER BY tbl').all() as { tbl: string }[]).map((r) => r.tbl);
  return tables.map((t) => `CREATE VIEW ${quoteIdent(t)} AS SELECT code, name FROM codes WHERE tbl = '${t.replace(/'/g, "''")}'`);
}

/** `column` printed with `format`, NULL staying NULL (a request that never ended has no hash). */
function hexOf(column: string, format: string): string {
  return `CASE WHEN ${column} IS NULL THEN NULL ELSE printf('${format}', ${column}) END`;
}

/** Where a field of a kind lives, as a column of `alias`, or NULL when the kind lacks it. */
function columnOf(k: KindLayout | undefined, field: string, alias: string): string {
  const slot = k && slotOf(k, field);
  return slot ? `${alias}.${slot}` : 'NULL';
}

export function requestsViewSql(kinds: readonly KindLayout[], sources: readonly EventSource[]): string {
  return overSources('requests_v', sources, (src) => requestsOver(src, kinds));
}

/** A field of the event `seq` of run `run`, by a lookup (NULL when seq is NULL or the kind lacks it). */
function fieldAt(src: EventSource, run: string, seq: string, column: string): string {
  if (column === 'NULL') return 'NULL';
  return `(SELECT ${column} FROM ${src.events} x WHERE ${src.lookup('x', run, seq)})`;
}

function requestsOver(src: EventSource, kinds: readonly KindLayout[]): string {
  const begin = kinds.find((k) => k.name === 'request_begin');
  const end = kinds.find((k) => k.name === 'request_end');
  const endField = (field: string) => fieldAt(src, 'q.run', 'q.last_seq', columnOf(end, field, 'x'));
  const req = columnOf(begin, 'req', 'b');
  const opSlot = columnOf(begin, 'op', 'b');
  const op = opSlot === 'NULL' ? 'NULL' : begin!.names.includes('op')
    ? `(SELECT n.text FROM names n WHERE n.run = b.run AND n.id = ${opSlot})` : opSlot;
  return `SELECT r.name AS run,
  coalesce(t.name, 'tid' || b.tid) || ':' || ${req} AS request,
  t.name AS task,
  ${op} AS op,
  ${columnOf(begin, 'addr', 'b')} AS addr,
  ${columnOf(begin, 'len', 'b')} AS len,
  ${endField('flags')} AS flags,
  ${endField('result')} AS result,
  ${endField('hash')} AS data_hash,
  q.first_seq, q.last_seq,
  ${hexOf(columnOf(begin, 'addr', 'b'), '0x%x')} AS addr_hex,
  ${hexOf(endField('hash'), '%08x')} AS data_hash_hex
FROM requests q
JOIN runs r ON r.id = q.run
JOIN ${src.events} b ON ${src.lookup('b', 'q.run', 'q.first_seq')}
LEFT JOIN tasks t ON t.run = q.run AND t.tid = b.tid`;
}

/**
 * fallbacks_v: run, request, task, seq, reason, addr, addr_hex, copied -- each time the fast path
 * gave a request over to the mmap_lock path, and why. The request is the one its task had in
 * flight (requests.first_seq <= seq <= last_seq).
 */
export function fallbacksViewSql(kinds: readonly KindLayout[], sources: readonly EventSource[]): string {
  const fallback = kinds.find((k) => k.name === 'fast_path_fallback');
  const begin = kinds.find((k) => k.name === 'request_begin');
  const reasonSlot = columnOf(fallback, 'reason', 'e');
  const reason = reasonSlot === 'NULL' ? 'NULL' : `(SELECT n.text FROM names n WHERE n.run = e.run AND n.id = ${reasonSlot})`;
  return overSources('fallbacks_v', sources, (src) => `SELECT r.name AS run,
  coalesce(t.name, 'tid' || e.tid) || ':' || ${columnOf(begin, 'req', 'b')} AS request,
  t.name AS task,
  e.seq,
  ${reason} AS reason,
  ${columnOf(fallback, 'addr', 'e')} AS addr,
  ${hexOf(columnOf(fallback, 'addr', 'e'), '0x%x')} AS addr_hex,
  ${columnOf(fallback, 'copied', 'e')} AS copied
FROM ${src.events} e
JOIN runs r ON r.id = e.run
JOIN requests q ON q.run = e.run AND q.first_seq <= e.seq AND e.seq <= coalesce(q.last_seq, e.seq)
JOIN ${src.events} b ON ${src.lookup('b', 'q.run', 'q.first_seq')} AND b.tid = e.tid
LEFT JOIN tasks t ON t.run = e.run AND t.tid = e.tid
WHERE e.kind = ${fallback?.kind ?? -1}`);
}

/**
 * waits_v: run, task, tid, wait (class), "on" (the object), from_seq, to_seq, from_tick, to_tick,
 * ticks -- every time a task blocked until another woke it, by the rule of
 * src/reduce/wait-clock.ts: a sched_block ends at the first later sched_wakeup naming the task, the
 * rwsem_wake that grants it the lock (its tid among the event's woken u32s), or, for a killable
 * wait, a signal sent to it. Timed sleeps are not waits. A wait still going at the end of the run
 * has NULL end columns. queued_seq: the task's last rwsem_contended before it blocked (lock_waits_v).
 */
export function waitsViewSql(kinds: readonly KindLayout[], sources: readonly EventSource[]): string {
  const kind = (name: string) => kinds.find((k) => k.name === name);
  const block = kind('sched_block');
  const wakeup = kind('sched_wakeup');
  const signal = kind('signal_send');
  const wake = kind('rwsem_wake');
  const waitSlot = columnOf(block, 'wait', 'e');
  const waitName = waitSlot === 'NULL' ? 'NULL' : `(SELECT n.text FROM names n WHERE n.run = e.run AND n.id = ${waitSlot})`;
  // A task's tid as rwsem_wake stores it among the woken: four bytes, little-endian, in hex.
  const tidHex = "printf('%02X%02X%02X%02X', t.tid & 255, (t.tid >> 8) & 255, (t.tid >> 16) & 255, (t.tid >> 24) & 255)";
  return overSources('waits_v', sources, (src) => `WITH RECURSIVE
woken(run, seq, rest, tid_hex) AS (
  SELECT run, seq, data, NULL FROM ${src.events} WHERE kind = ${wake?.kind ?? -1} AND data IS NOT NULL
  UNION ALL
  SELECT run, seq, substr(rest, 5), hex(substr(rest, 1, 4)) FROM woken WHERE length(rest) >= 4
),
marks(run, tid, seq, what) AS (
  SELECT run, tid, seq, 'block' FROM ${src.events} WHERE kind = ${block?.kind ?? -1}
  UNION ALL
  SELECT run, ${columnOf(wakeup, 'target', src.events)}, seq, 'end' FROM ${src.events} WHERE kind = ${wakeup?.kind ?? -1}
  UNION ALL
  SELECT run, ${columnOf(signal, 'target', src.events)}, seq, 'signal' FROM ${src.events} WHERE kind = ${signal?.kind ?? -1}
  UNION ALL
  SELECT w.run, t.tid, w.seq, 'end' FROM woken w JOIN tasks t ON t.run = w.run AND w.tid_hex = ${tidHex}
  UNION ALL
  SELECT run, tid, seq, 'queued' FROM ${src.events} WHERE kind = ${kind('rwsem_contended')?.kind ?? -1}
),
ends AS (
  SELECT run, tid, seq, what,
    min(CASE WHEN what = 'end' THEN seq END) OVER later AS next_end,
    min(CASE WHEN what = 'signal' THEN seq END) OVER later AS next_signal,
    max(CASE WHEN what = 'queued' THEN seq END) OVER earlier AS last_queued
  FROM marks
  WINDOW later AS (PARTITION BY run, tid ORDER BY seq ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING),
    earlier AS (PARTITION BY run, tid ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
spans AS (
  SELECT d.run, d.tid, d.seq AS from_seq,
    CASE WHEN ${columnOf(block, 'killable', 'e')} = 1 AND d.next_signal < coalesce(d.next_end, d.next_signal + 1)
      THEN d.next_signal ELSE d.next_end END AS to_seq,
    ${waitName} AS wait, ${columnOf(block, 'on', 'e')} AS "on", e.tick AS from_tick, d.last_queued AS queued_seq
  FROM ends d JOIN ${src.events} e ON ${src.lookup('e', 'd.run', 'd.seq')}
  WHERE d.what = 'block'
)
SELECT r.name AS run, coalesce(t.name, 'tid' || s.tid) AS task, s.tid, s.wait, s."on", s.from_seq, s.to_seq,
  s.from_tick, s.to_tick, s.to_tick - s.from_tick AS ticks, s.queued_seq
FROM (SELECT sp.*, ${fieldAt(src, 'sp.run', 'sp.to_seq', 'x.tick')} AS to_tick FROM spans sp) s
JOIN runs r ON r.id = s.run
LEFT JOIN tasks t ON t.run = s.run AND t.tid = s.tid`, { planAlone: true });
}

/**
 * lock_waits_v: the waits of waits_v on an rwsem, with its class and the mode asked for: those whose
 * task queued on that same rwsem (rwsem_contended) before blocking.
 */
export function lockWaitsViewSql(kinds: readonly KindLayout[], sources: readonly EventSource[]): string {
  const contended = kinds.find((k) => k.name === 'rwsem_contended');
  const cls = columnOf(contended, 'class', 'c');
  const mode = columnOf(contended, 'mode', 'c');
  return overSources('lock_waits_v', sources, (src) => `SELECT w.run, w.task, w.tid,
  (SELECT n.text FROM names n WHERE n.run = c.run AND n.id = ${cls}) AS class,
  (SELECT m.name FROM codes m WHERE m.tbl = 'rwsem_modes' AND m.code = ${mode}) AS mode,
  w."on" AS sem, w.from_seq, w.to_seq, w.from_tick, w.to_tick, w.ticks
FROM waits w
JOIN runs r ON r.name = w.run
JOIN ${src.events} c ON ${src.lookup('c', 'r.id', 'w.queued_seq')} AND ${columnOf(contended, 'sem', 'c')} = w."on"`,
  { shared: 'waits AS MATERIALIZED (SELECT * FROM waits_v)', planAlone: true });
}

/** `CASE e.kind WHEN k1 THEN e.slot1 ... END`: a field that lives in a different slot per kind. */
function fieldAcross(kinds: readonly (KindLayout | undefined)[], field: string, alias: string): string {
  const whens = kinds.flatMap((k) => {
    const column = columnOf(k, field, alias);
    return column === 'NULL' ? [] : [`WHEN ${k!.kind} THEN ${column}`];
  });
  return whens.length ? `CASE ${alias}.kind ${whens.join(' ')} END` : 'NULL';
}

/**
 * vma_spans_v: run, vma, mm, start, end, start_hex, end_hex, file, from_seq, to_seq -- each stretch
 * of events during which a VMA sat in its mm's tree over one range: from its vma_mark_attached or a
 * vma_adjust while attached, to the next vma_adjust or its vma_mark_detached (to_seq NULL: still
 * there at the end of the run). A VMA id names a slab object that may be freed and created again
 * (SLAB_TYPESAFE_BY_RCU): mm and file are those of the vma_create and vma_init of the same life.
 * The same rule as src/reduce/vma-map.ts, which tests hold the two to.
 */
export function vmaSpansViewSql(kinds: readonly KindLayout[], sources: readonly EventSource[]): string {
  const kind = (name: string) => kinds.find((k) => k.name === name);
  const create = kind('vma_create');
  const init = kind('vma_init');
  const attach = kind('vma_mark_attached');
  const adjust = kind('vma_adjust');
  const detach = kind('vma_mark_detached');
  const all = [create, init, attach, adjust, detach];
  const ranged = [attach, adjust];
  const code = (k: KindLayout | undefined) => k?.kind ?? -1;
  return overSources('vma_spans_v', sources, (src) => `WITH changes AS (
  SELECT e.run, e.seq, e.kind, ${fieldAcross(all, 'vma', 'e')} AS vma,
    ${fieldAcross([create], 'mm', 'e')} AS mm, ${fieldAcross([init], 'file', 'e')} AS file_id,
    ${fieldAcross(ranged, 'start', 'e')} AS start, ${fieldAcross(ranged, 'end', 'e')} AS "end"
  FROM ${src.events} e WHERE e.kind IN (${all.map(code).join(', ')})
),
states AS (
  SELECT *,
    sum(kind = ${code(create)}) OVER w AS life,
    sum(CASE kind WHEN ${code(attach)} THEN 1 WHEN ${code(detach)} THEN -1 ELSE 0 END) OVER w AS attached,
    lead(seq) OVER w AS next_seq
  FROM changes WINDOW w AS (PARTITION BY run, vma ORDER BY seq)
),
lives AS (
  SELECT *, max(mm) OVER l AS life_mm, max(file_id) OVER l AS life_file
  FROM states WINDOW l AS (PARTITION BY run, vma, life)
)
SELECT r.name AS run, s.vma, s.life_mm AS mm, s.start, s."end",
  ${hexOf('s.start', '0x%x')} AS start_hex, ${hexOf('s."end"', '0x%x')} AS end_hex,
  nullif((SELECT n.text FROM names n WHERE n.run = s.run AND n.id = s.life_file), '') AS file,
  s.seq AS from_seq, s.next_seq AS to_seq
FROM lives s
JOIN runs r ON r.id = s.run
WHERE s.kind IN (${ranged.map(code).join(', ')}) AND s.attached = 1`, { planAlone: true });
}

/**
 * copies_v: run, request, task, seq, addr, addr_hex, len, folio, mm, vma, vma_start_hex,
 * vma_end_hex, file -- every copy a request made, with the VMA it read: the one of the request's
 * target mm that covered the address at that moment (vma_spans_v). The target mm is the one the
 * request last showed: the mmap_lock it asked for (the GUP path) or the VMA it read-locked (the fast
 * path), before the copy. vma is NULL when no VMA covered the address then.
 */
export function copiesViewSql(kinds: readonly KindLayout[], sources: readonly EventSource[]): string {
  const kind = (name: string) => kinds.find((k) => k.name === name);
  const copy = kind('copy');
  const locking = kind('mmap_lock_start_locking');
  const vmaRead = kind('vma_start_read');
  const begin = kind('request_begin');
  const code = (k: KindLayout | undefined) => k?.kind ?? -1;
  // A copy's fields are read once, here: a decoded field in the join with spans below would be
  // decoded again for every span it is compared with.
  return overSources('copies_v', sources, (src) => `WITH marks AS (
  SELECT e.run, e.tid, e.seq, e.kind, ${columnOf(copy, 'addr', 'e')} AS addr, ${columnOf(copy, 'len', 'e')} AS len,
    ${columnOf(copy, 'folio', 'e')} AS folio,
    max(CASE WHEN e.kind IN (${code(locking)}, ${code(vmaRead)}) THEN e.seq END)
      OVER (PARTITION BY e.run, e.tid ORDER BY e.seq) AS target_seq
  FROM ${src.events} e WHERE e.kind IN (${code(copy)}, ${code(locking)}, ${code(vmaRead)})
),
copies AS (
  SELECT m.run, m.tid, m.seq, m.addr, m.len, m.folio, q.first_seq,
    CASE WHEN m.target_seq >= q.first_seq THEN
      coalesce(${fieldAcross([locking], 'mm', 'x')},
        (SELECT v.mm FROM spans v JOIN runs vr ON vr.id = m.run
         WHERE v.run = vr.name AND v.vma = ${fieldAcross([vmaRead], 'vma', 'x')} AND v.from_seq <= x.seq AND (v.to_seq IS NULL OR x.seq < v.to_seq)))
    END AS mm
  FROM marks m
  JOIN ${src.events} x ON ${src.lookup('x', 'm.run', 'm.target_seq')}
  JOIN requests q ON q.run = m.run AND q.first_seq <= m.seq AND m.seq <= coalesce(q.last_seq, m.seq)
  JOIN ${src.events} b ON ${src.lookup('b', 'q.run', 'q.first_seq')} AND b.tid = m.tid
  WHERE m.kind = ${code(copy)}
)
SELECT r.name AS run,
  coalesce(t.name, 'tid' || c.tid) || ':' || ${columnOf(begin, 'req', 'b')} AS request,
  t.name AS task, c.seq,
  c.addr, ${hexOf('c.addr', '0x%x')} AS addr_hex, c.len, c.folio, c.mm, s.vma, s.start_hex AS vma_start_hex, s.end_hex AS vma_end_hex, s.file
FROM copies c
JOIN runs r ON r.id = c.run
JOIN ${src.events} b ON ${src.lookup('b', 'c.run', 'c.first_seq')}
LEFT JOIN tasks t ON t.run = c.run AND t.tid = c.tid
LEFT JOIN spans s ON s.run = r.name AND s.mm = c.mm
  AND c.addr >= s.start AND c.addr < s."end"
  AND s.from_seq <= c.seq AND (s.to_seq IS NULL OR c.seq < s.to_seq)`,
  { shared: 'spans AS MATERIALIZED (SELECT * FROM vma_spans_v)', planAlone: true });
}

/**
 * (Re)create the views from the file's kinds table, over the event sources it holds (sourcesOf):
 * when a run of the row format comes in (merge), they are made again. Needs a writable connection.
 */
export function rebuildViews(db: Database.Database): void {
  const views = viewStatements(db);
  if (viewsAsWritten(db, views)) return;
  db.transaction(() => {
    for (const sql of views) db.exec(`DROP VIEW IF EXISTS ${viewNameOf(sql)}`);
    for (const sql of views) db.exec(sql);
  })();
}

/** The view a statement of viewStatements() creates, named as the statement spells it (quoted or not). */
function viewNameOf(sql: string): string {
  const m = /^CREATE VIEW ("(?:[^"]|"")*"|\w+) AS\b/.exec(sql);
  if (!m) throw new Error(`not a CREATE VIEW statement: ${sql.slice(0, 40)}`);
  return m[1]!;
}

/** The CREATE VIEW statements of the file's views, in the order they are created, from its kinds table. */
function viewStatements(db: Database.Database): string[] {
  const rows = db.prepare('SELECT * FROM kinds ORDER BY kind').all() as KindsTable[];
  const kinds = rows.map(layoutOfRow);
  const sources = sourcesOf(db.prepare('SELECT EXISTS (SELECT 1 FROM event_rows) AS yes').pluck().get() === 1);
  return [
    chunkEventsViewSql(),
    eventsUnionSql(sources),
    eventsViewSql(kinds, sources),
    requestsViewSql(kinds, sources),
    fallbacksViewSql(kinds, sources),
    waitsViewSql(kinds, sources),
    lockWaitsViewSql(kinds, sources),
    vmaSpansViewSql(kinds, sources),
    copiesViewSql(kinds, sources),
    ...codeViewCreates(db),
  ];
}

/**
 * Whether the file has each of these views as written (SQLite keeps a view's CREATE statement as
 * given). Then there is nothing to rebuild: replacing a view changes the schema, and SQLite parses
 * the whole schema again (some 65 KB of view SQL) after each change, some 20 ms per opening for
 * write, as every recording into an existing file does.
 */
function viewsAsWritten(db: Database.Database, views: readonly string[]): boolean {
  const written = new Set(db.prepare("SELECT sql FROM sqlite_master WHERE type = 'view'").pluck().all() as string[]);
  return views.every((sql) => written.has(sql));
}
