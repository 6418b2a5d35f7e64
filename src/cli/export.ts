/**
 * `mmtrace export FILE#RUN --format=chrome|perfetto|ndjson [--out=FILE]`: a run for other tools,
 * streamed in constant memory. To a file, it writes beside it and renames at the end, so a file of that name is
 * either the old one or the whole export, never half of one.
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { errors } from '../errors.js';
import { chromeExport } from '../export/chrome.js';
import { feedRun } from '../export/events.js';
import type { Exporter } from '../export/exporter.js';
import { ndjsonExport } from '../export/ndjson.js';
import { Out } from '../export/out.js';
import { perfettoExport } from '../export/perfetto.js';
import { openRunRef, type RunInfo, type Trace } from '../trace/reader.js';
import { runStateNote } from '../trace/run-state.js';
import { progress } from './progress.js';

const EXPORTERS = { chrome: chromeExport, perfetto: perfettoExport, ndjson: ndjsonExport } as const;
const FORMATS = Object.keys(EXPORTERS) as Format[];
type Format = keyof typeof EXPORTERS;

function checkFormat(format: string): Format {
  if ((FORMATS as readonly string[]).includes(format)) return format as Format;
  throw errors.usage(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
}

async function writeExport(trace: Trace, run: RunInfo, format: Format, stream: Writable): Promise<void> {
  const out = new Out(stream);
  const exporter: Exporter = EXPORTERS[format](trace, run, out);
  const bar = progress(`export ${run.name}`, run.events);
  try {
    await feedRun(trace, run, exporter.reducers, async (done) => {
      bar.update(done);
      await out.flush();
    });
    exporter.finish();
    await out.flush();
  } finally {
    bar.stop();
  }
}

export async function exportCommand(ref: string, o: { format: string; out?: string }): Promise<void> {
  const format = checkFormat(o.format);
  if (format === 'perfetto' && o.out === undefined && process.stdout.isTTY) {
    throw errors.usage('--format=perfetto is binary: give --out=FILE.pftrace or redirect stdout');
  }
  const { trace, run } = await openRunRef(ref);
  try {
    const note = runStateNote(`${trace.file}#${run.name}`, run);
    if (note) process.stderr.write(`mmtrace: ${note}\n`);
    if (o.out === undefined) {
      await writeExport(trace, run, format, process.stdout);
      return;
    }
    const partial = `${o.out}.partial-${process.pid}`;
    const file = createWriteStream(partial);
    try {
      await writeExport(trace, run, format, file);
      file.end();
      await finished(file);
      renameSync(partial, o.out);
    } catch (e) {
      file.destroy();
      rmSync(partial, { force: true });
      throw e;
    }
  } finally {
    trace.close();
  }
}
