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

export async function mergeTraceFiles(out: string, inputs: readonly string[]): Promise<MergedRun[]> {
  if (inputs.length === 0) throw errors.usage('merge needs at least one input file after the output');
  if (inputs.some((f) => resolve(f) === resolve(out))) throw errors.usage(`${out} is both the output and an input`);
  for (const file of inputs) (await openTrace(file)).close();
  const db = await openForWrite(out, { layout: LAYOUT, codes: CODE_TABLES, eventSchema: SCHEMA_VERSION });
  try {
    return mergeRuns(db, out, inputs);
  } finally {
    db.close();
  }
}
