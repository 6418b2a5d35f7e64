/**
 * `mmtrace merge OUT IN...`: the runs of several trace files in one (explore's shards each keep
 * their violations in a file of their own). Every input is checked as a trace file this build
 * reads before the output is touched; the copy itself is all or nothing (store/merge.ts).
 */
import { resolve } from 'node:path';
import { errors } from '../errors.js';
import { openForWrite } from '../store/db.js';
import { mergeRuns, type MergedRun } from '../store/merge.js';
import { openTrace } from './reader.js';
import { LAYOUT } from './recorder.js';
import { CODE_TABLES, SCHEMA_VERSION } from './vocab/index.js';

/** SQLite attaches at most this many databases to a connection (SQLITE_MAX_ATTACHED). */
export const MAX_MERGE_INPUTS = 10;

export async function mergeTraceFiles(out: string, inputs: readonly string[]): Promise<MergedRun[]> {
  if (inputs.length === 0) throw errors.usage('merge needs at least one input file after the output');
  if (inputs.length > MAX_MERGE_INPUTS) {
    throw errors.usage(`merge takes at most ${MAX_MERGE_INPUTS} input files at once (SQLite attaches no more); merge them in steps`);
  }
  if (inputs.some((f) => resolve(f) === resolve(out))) throw errors.usage(`${out} is both the output and an input`);
  for (const file of inputs) (await openTrace(file)).close();
  const db = await openForWrite(out, { layout: LAYOUT, codes: CODE_TABLES, eventSchema: SCHEMA_VERSION });
  try {
    return mergeRuns(db, out, inputs);
  } finally {
    db.close();
  }
}
