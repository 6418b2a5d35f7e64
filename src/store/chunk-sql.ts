/**
 * The SQL side of the chunk format: the views that decode chunks in plain `sqlite3`, and the two
 * event sources (row table, chunk view) every generated view is written over.
 *
 * A chunk (src/store/chunk.ts) is decoded by plain SQL, without recursion: a byte is read with
 * unicode() and instr() (byteAt), an event's fields sit at fixed widths found through
 * its offset, and chunk_ords numbers the events of a chunk. Looking an event up by seq stays
 * indexed when the lookup also bounds `chunk` (CHUNK_SOURCE.lookup).
 *
 * A view over both formats is a UNION ALL of the same query over each source (overSources), not
 * one query over the `events` union: SQLite does not flatten a UNION ALL view that is joined by seq
 * (it decodes every event into an automatic index first). A file without runs of the row format
 * (every file this build creates) gets its views over the chunks alone, without the UNION ALL: an
 * older SQLite (3.40, Debian 12's sqlite3) runs an aggregate over a UNION ALL view as a co-routine
 * that decodes every column of every event it passes, where a view of one SELECT is flattened into
 * the query and decodes only the columns it names (measured on a 1.05M-event run with sqlite3 3.40:
 * `SELECT count(*) FROM events_v WHERE kind = 'pgtable_read'` 99 s over both sources).
 */
import { MAX_CHUNK_EVENTS } from './chunk.js';

/**
 * The byte at 1-based position `at` of `blob`. unicode() of the byte taken as text is its value for
 * 0x01..0xBF (a lone byte below 0xC0 reads as itself); it is NULL for 0x00 and U+FFFD for a lone
 * lead byte 0xC0..0xFF, which instr() then finds in chunk_bytes.x = X'C0C1..FF00' (position 65 is
 * 0x00). unicode() first: measured ~5x faster than instr() over all 256 bytes.
 */
function byteAt(blob: string, at: string): string {
  const b = `substr(${blob}, ${at}, 1)`;
  return `coalesce(nullif(unicode(CAST(${b} AS TEXT)), 65533), (instr(h.x, ${b}) + 191) % 256)`;
}

/**
 * The little-endian unsigned integer of `width` bytes at `at` of `blob` (width 0..maxWidth; 8, a raw
 * double, reads NULL). One term per byte, each read only when the width reaches it.
 */
function uintAt(blob: string, at: string, width: string, maxWidth: number): string {
  const terms = Array.from({ length: maxWidth }, (_, j) => {
    const byte = byteAt(blob, j === 0 ? at : `${at} + ${j}`);
    return `CASE WHEN ${width} > ${j} THEN ${byte}${j ? ` * ${2 ** (8 * j)}` : ''} ELSE 0 END`;
  });
  return `CASE WHEN ${width} > ${maxWidth} THEN NULL ELSE ${terms.join(' + ')} END`;
}

/** The widths a number can take (7 bytes: 56 bits; 8 is a raw double, which SQL shows as NULL). */
const MAX_WIDTH = 7;
/** Offsets into a chunk's records stay below 2^24 (MAX_CHUNK_EVENTS records of at most 4 x 8 bytes). */
const MAX_OFFSET_WIDTH = 3;

/**
 * chunk_events: the events of the runs stored in chunks, one row per event (run, seq, chunk, ord,
 * tick, tid, kind, a, b, c, d, data). One level, so SQLite flattens it into the query that uses
 * it: a lookup by seq (CHUNK_SOURCE.lookup) reads one chunk row, and only the columns a query names are
 * decoded. The joins are CROSS JOINs to keep that order: chunk, then the event's index, then its
 * kind's frame.
 */
export function chunkEventsViewSql(): string {
  const i = 'o.i';
  const pos = `1 + ${uintAt('c.offs', `1 + ${i} * c.off_w`, 'c.off_w', MAX_OFFSET_WIDTH)}`;
  const slot = (s: string, after: string): string =>
    `k.${s}_base + ${uintAt('c.recs', after ? `${pos} + ${after}` : pos, `k.${s}_w`, MAX_WIDTH)}`;
  return `CREATE VIEW chunk_events AS
SELECT c.run, c.first_seq + ${i} AS seq, c.first_seq AS chunk, ${i} AS ord,
  c.tick_base + ${uintAt('c.ticks', `1 + ${i} * c.tick_w`, 'c.tick_w', MAX_WIDTH)} AS tick,
  c.tid_base + ${uintAt('c.tids', `1 + ${i} * c.tid_w`, 'c.tid_w', MAX_WIDTH)} AS tid,
  k.kind,
  ${slot('a', '')} AS a,
  ${slot('b', 'k.a_w')} AS b,
  ${slot('c', 'k.a_w + k.b_w')} AS c,
  ${slot('d', 'k.a_w + k.b_w + k.c_w')} AS d,
  (SELECT v.data FROM event_data v WHERE v.run = c.run AND v.seq = c.first_seq + ${i}) AS data
FROM chunks c
CROSS JOIN chunk_ords o
CROSS JOIN chunk_bytes h
CROSS JOIN chunk_kinds k ON k.run = c.run AND k.first_seq = c.first_seq AND k.kind = ${byteAt('c.kinds', `1 + ${i}`)}
WHERE ${i} < c.count`;
}

/**
 * events: every event of every run, row format or chunks, with the columns of the row format
 * (`sources`: those the file holds, see overSources).
 */
export function eventsViewSql(sources: readonly EventSource[]): string {
  const columns = 'run, seq, tick, tid, kind, a, b, c, d, data';
  return `CREATE VIEW events AS
${sources.map((src) => `SELECT ${columns} FROM ${src.events}`).join('\nUNION ALL\n')}`;
}

/** Where a generated view reads events: the row format's table, or the chunks' view. */
export interface EventSource {
  /** the table or view to select events from */
  events: string;
  /** the condition that finds event `seq` of `run` in it, aliased `alias`, by index */
  lookup(alias: string, run: string, seq: string): string;
}

export const ROW_SOURCE: EventSource = {
  events: 'event_rows',
  lookup: (alias, run, seq) => `${alias}.run = ${run} AND ${alias}.seq = ${seq}`,
};

/**
 * Only a chunk whose first seq lies within MAX_CHUNK_EVENTS below `seq` can hold it: a range on the
 * (run, first_seq) key, then the event's index within the chunk by the rowid of chunk_ords.
 */
export const CHUNK_SOURCE: EventSource = {
  events: 'chunk_events',
  lookup: (alias, run, seq) => `${alias}.run = ${run} AND ${alias}.chunk BETWEEN ${seq} - ${MAX_CHUNK_EVENTS - 1} AND ${seq}`
    + ` AND ${alias}.ord = ${seq} - ${alias}.chunk`,
};

/** The sources a file's views read: the chunks, and the row format's table when it holds rows. */
export function sourcesOf(hasRows: boolean): readonly EventSource[] {
  return hasRows ? [ROW_SOURCE, CHUNK_SOURCE] : [CHUNK_SOURCE];
}

/** How overSources writes a view. */
export interface ViewOptions {
  /**
   * CTEs (without WITH) the queries read, computed once for all of them (a view the query reads
   * once per row of its own, kept from being computed for every row: AS MATERIALIZED).
   */
  shared?: string;
  /**
   * Plan the view's query on its own, never flattened into the query that reads it: for a view
   * built of CTEs and window functions, whose plan SQLite makes worse when it flattens it into an
   * aggregate over it (copies_v took 2.5 times as long). A UNION ALL of two sources is never
   * flattened there anyway.
   */
  planAlone?: boolean;
}

/**
 * A view over the event sources a file holds: the same query over each, one after the other. Over
 * one source it is that query alone, which SQLite flattens into the query that reads it (unless
 * `planAlone`).
 */
export function overSources(name: string, sources: readonly EventSource[], body: (src: EventSource) => string, opts: ViewOptions = {}): string {
  const ctes = opts.shared ? [opts.shared] : [];
  if (sources.length === 1 && opts.planAlone) ctes.push(`view AS MATERIALIZED (\n${body(sources[0]!)}\n)`);
  const head = `CREATE VIEW ${name} AS${ctes.length ? `\nWITH ${ctes.join(',\n')}` : ''}`;
  if (sources.length === 1 && opts.planAlone) return `${head}\nSELECT * FROM view`;
  if (sources.length === 1 && !opts.shared) return `${head}\n${body(sources[0]!)}`;
  return `${head}
${sources.map((src) => `SELECT * FROM (\n${body(src)}\n)`).join('\nUNION ALL\n')}`;
}
