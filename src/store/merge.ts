/**
 * Copy every run of other trace files into an open one (`mmtrace merge OUT IN...`: the keep files of
 * explore's shards into one file). All or nothing: one transaction, and every conflict is looked
 * for before anything is written: a run name already taken, or an input whose kinds table differs
 * from the output's (recorded with another event vocabulary).
 */
import { errors } from '../errors.js';
import type { Db } from './db.js';
import { rebuildViews } from './views.js';

/** The tables that hold a run's rows, keyed by `run`, and their other columns. */
const RUN_TABLES: Readonly<Record<string, readonly string[]>> = {
  event_rows: ['seq', 'tick', 'tid', 'kind', 'a', 'b', 'c', 'd', 'data'],
  chunks: ['first_seq', 'count', 'blobs', 'tick_base', 'tick_w', 'tid_base', 'tid_w', 'off_w', 'ticks', 'tids', 'kinds', 'offs', 'recs'],
  chunk_kinds: ['first_seq', 'kind', 'a_base', 'a_w', 'b_base', 'b_w', 'c_base', 'c_w', 'd_base', 'd_w'],
  event_data: ['seq', 'data'],
  names: ['id', 'text'],
  tasks: ['tid', 'name', 'daemon'],
  batches: ['last_seq', 'events', 'hash', 'decisions'],
  requests: ['first_seq', 'last_seq'],
  snapshots: ['seq', 'data'],
  request_log: ['seq', 'data'],
};

const RUN_COLUMNS = ['name', 'workload', 'params', 'path', 'variant', 'seed', 'strategy', 'config', 'code_version',
  'schema_version', 'status', 'events', 'final_hash', 'writer_pid', 'error', 'modules', 'format'];

export interface MergedRun {
  from: string;
  name: string;
  events: number;
}

function conflicts(db: Db, out: string, inputs: readonly string[]): void {
  const taken = new Map<string, string>(
    (db.prepare('SELECT name FROM main.runs').all() as { name: string }[]).map((r) => [r.name, out]),
  );
  inputs.forEach((file, i) => {
    const alias = `in${i}`;
    const differs = db.prepare(`SELECT count(*) AS n FROM ${alias}.kinds s LEFT JOIN main.kinds k ON k.kind = s.kind
      WHERE k.kind IS NULL OR k.name IS NOT s.name OR k.a IS NOT s.a OR k.b IS NOT s.b OR k.c IS NOT s.c OR k.d IS NOT s.d`).get() as { n: number };
    if (differs.n > 0) throw errors.mergeConflict(out, `${file} was recorded with another event vocabulary (its kinds table differs); merge files of one mmtrace version`);
    for (const { name } of db.prepare(`SELECT name FROM ${alias}.runs ORDER BY id`).all() as { name: string }[]) {
      const other = taken.get(name);
      if (other !== undefined) throw errors.mergeConflict(out, `a run named '${name}' is in both ${other} and ${file}`);
      taken.set(name, file);
    }
  });
}

/** Copy the runs of `inputs` into `db` (the output file, open for writing), in input order. */
export function mergeRuns(db: Db, out: string, inputs: readonly string[]): MergedRun[] {
  inputs.forEach((file, i) => db.prepare(`ATTACH DATABASE ? AS in${i}`).run(file));
  try {
    conflicts(db, out, inputs);
    const merged: MergedRun[] = [];
    db.transaction(() => {
      inputs.forEach((file, i) => {
        const alias = `in${i}`;
        const runs = db.prepare(`SELECT id, name, events FROM ${alias}.runs ORDER BY id`).all() as { id: number; name: string; events: number }[];
        for (const run of runs) {
          const cols = RUN_COLUMNS.join(', ');
          const id = Number(db.prepare(`INSERT INTO main.runs (${cols}) SELECT ${cols} FROM ${alias}.runs WHERE id = ?`).run(run.id).lastInsertRowid);
          for (const [table, columns] of Object.entries(RUN_TABLES)) {
            const list = columns.join(', ');
            db.prepare(`INSERT INTO main.${table} (run, ${list}) SELECT ?, ${list} FROM ${alias}.${table} WHERE run = ?`).run(id, run.id);
          }
          merged.push({ from: file, name: run.name, events: run.events });
        }
      });
      // A run of the row format copied in: the views read that format too from now on.
      rebuildViews(db);
    })();
    return merged;
  } finally {
    inputs.forEach((_, i) => db.prepare(`DETACH DATABASE in${i}`).run());
  }
}
