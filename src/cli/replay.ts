/**
 * `mmtrace replay FILE[#RUN] [--until=SEL] [--engine=projection|reexec] [--verify] [--json]`: the
 * whole emulated state at one event. Projection (the default) folds the log from the nearest
 * snapshot; re-execution runs the kernel model again on the recorded decisions. Both print the
 * same document. --verify re-executes and checks every event up to SEL against the log.
 */
import { toDoc } from '../replay/doc.js';
import { project } from '../replay/projection.js';
import type { Divergence } from '../replay/reexec.js';
import { resolveSelector } from '../replay/select.js';
import type { StateDoc } from '../replay/state.js';
import { errors } from '../errors.js';
import { kindDef } from '../trace/vocab/index.js';
import { openRunRef, type RunInfo, type Trace } from '../trace/reader.js';
import { runNames, taskName } from '../reduce/read-run.js';
import { isCutShort, runStateNote } from '../trace/run-state.js';
import { printJson, println } from './output.js';
import { renderState } from './render-state.js';

interface ReplayFlags {
  until: string;
  engine: string;
  requests: string;
  verify?: boolean;
  json?: boolean;
}

/**
 * --requests (default DONE_REQUESTS_LISTED, replay/doc.ts): how many of the requests that ended
 * to list, the last ones, or all of them. Every request in flight is listed.
 */
function parseDoneRequests(text: string): number {
  if (text === 'all') return Infinity;
  if (!/^\d+$/.test(text)) throw errors.usage(`--requests takes a number or 'all', got '${text}'`);
  return Number(text);
}

/** The event at `seq`, named: what the cursor is on. */
function describeEvent(trace: Trace, run: RunInfo, seq: number) {
  const row = [...trace.events(run.id, seq, seq)][0];
  if (!row) return null;
  const [, tick, tid, kind, a, b, c, d] = row;
  const def = trace.kinds().find((k) => k.kind === kind);
  const names = trace.names(run.id);
  const task = taskName(runNames(trace, run.id), tid);
  const fields: Record<string, number | string> = {};
  (def?.fields ?? []).forEach((f, i) => {
    if (f === null) return;
    const v = [a, b, c, d][i]!;
    fields[f] = def!.names.includes(f) ? names[v] ?? v : v;
  });
  return { seq, tick, tid, task, kind: def?.name ?? `kind${kind}`, fields };
}

function eventLine(e: NonNullable<ReturnType<typeof describeEvent>>): string {
  const f = Object.entries(e.fields).map(([k, v]) => `${k}=${typeof v === 'number' && Math.abs(v) > 4095 ? '0x' + v.toString(16) : v}`);
  return `[${e.task}] ${e.kind} ${f.join(' ')}`;
}

/**
 * A stored row as text, its slots labelled with the kind's field names. Values stay as stored (a
 * name field is its interned id): the point is to see which field of the two rows differs.
 */
function rowText(r: Divergence['recorded']): string {
  if (!r) return '(none)';
  const [seq, tick, tid, kind] = r;
  const slots = r.slice(4, 8) as number[];
  let name = `kind${kind}`;
  let fieldNames = ['a', 'b', 'c', 'd'];
  try {
    const def = kindDef(kind);
    name = def.name;
    fieldNames = [...def.fields];
  } catch {
    // a kind this build does not know: its slots keep their storage names
  }
  const fields = fieldNames.map((field, i) => `${field}=${slots[i]}`).join(' ');
  const data = r[8] && r[8].length ? ` data=${bytesHex(r[8])}` : '';
  return `#${seq} tick ${tick} tid ${tid} ${name} ${fields}${data}`;
}

/** Up to 64 bytes as hex (a divergence in a blob shows where the two differ). */
function bytesHex(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.subarray(0, 64)).toString('hex');
  return bytes.length > 64 ? `${hex}...(${bytes.length} bytes)` : hex;
}

/** A divergence as JSON: the two rows as objects, their blobs as hex. */
function divergenceDoc(dv: Divergence) {
  const row = (r: Divergence['recorded']) => r && {
    seq: r[0], tick: r[1], tid: r[2], kind: r[3], a: r[4], b: r[5], c: r[6], d: r[7],
    data: r[8] && r[8].length ? Buffer.from(r[8]).toString('hex') : null,
  };
  return { seq: dv.seq, message: dv.message ?? null, recorded: row(dv.recorded), replayed: row(dv.replayed) };
}

export async function replayCommand(ref: string, o: ReplayFlags): Promise<void> {
  if (o.engine !== 'projection' && o.engine !== 'reexec') throw errors.usage(`--engine must be projection or reexec, got '${o.engine}'`);
  const docOptions = { doneRequests: parseDoneRequests(o.requests) };
  const { trace, run } = await openRunRef(ref);
  try {
    const seq = resolveSelector(trace, run, o.until);
    // incomplete in --json: the log stops short of what the workload recorded (died, failed, still
    // recording); `status` says which, and also marks a limited run.
    const incomplete = isCutShort(run);
    const note = runStateNote(`${trace.file}#${run.name}`, run);
    if (note) process.stderr.write(`mmtrace: ${note}\n`);
    let doc: StateDoc;
    let how: string;
    /** Requests so far: the document lists those in flight and the last that ended. */
    let requests: number;
    if (o.verify || o.engine === 'reexec') {
      // the kernel model and the workloads load only for re-execution: a projection reads the log alone
      const { prepareReexecution, reexecute } = await import('../replay/reexec.js');
      await prepareReexecution(run);
      const r = reexecute(trace, run, seq, { verify: o.verify });
      if (r.codeChanged) {
        process.stderr.write(`mmtrace: the kernel model changed since this run was recorded (recorded with ${r.recordedWith}); re-execution may diverge\n`);
      }
      if (r.divergence) {
        const dv = r.divergence;
        const lines = [
          `re-execution diverges from the log at event ${dv.seq}${dv.message ? ': ' + dv.message : ''}`,
          `  recorded: ${rowText(dv.recorded)}`,
          `  replayed: ${rowText(dv.replayed)}`,
        ];
        if (o.json) printJson({ file: trace.file, run: run.name, verified: false, divergence: divergenceDoc(dv), codeChanged: r.codeChanged });
        else println(lines.join('\n'));
        process.exitCode = 1;
        return;
      }
      doc = toDoc(r.model!, docOptions);
      requests = r.model!.requests.length;
      how = o.verify ? `re-executed and verified ${r.events} events` : `re-executed ${r.events} events`;
    } else {
      const p = project(trace, run, seq);
      doc = toDoc(p.model, docOptions);
      requests = p.model.requests.length;
      how = `projected from ${p.fromSnapshot ? `the snapshot at event ${p.fromSnapshot}` : 'the start'}, folded ${p.folded} events`;
      if (p.snapshotIgnored) process.stderr.write(`mmtrace: warning: ${p.snapshotIgnored}; folded from the first event instead\n`);
    }
    const at = describeEvent(trace, run, seq);
    const requestsLeftOut = requests - doc.requests.length;
    if (o.json) {
      printJson({ file: trace.file, run: run.name, events: run.events, status: run.status, incomplete, at, state: doc, requestsLeftOut });
      return;
    }
    process.stderr.write(`mmtrace: ${how}\n`);
    println(renderState(doc, [
      `${trace.file}#${run.name}: event ${seq} of ${run.events}${run.status === 'complete' ? '' : ` (${run.status} run)`}, tick ${doc.tick}`,
      at ? `  ${eventLine(at)}` : '',
    ], requestsLeftOut));
  } finally {
    trace.close();
  }
}

