/**
 * Chrome's Trace Event Format (JSON), as Perfetto UI, chrome://tracing and speedscope load it: the
 * run's timeline (timeline.ts), one record per line inside `traceEvents`, and the timeline's
 * metadata in `otherData`.
 */
import type { RunInfo, Trace } from '../trace/reader.js';
import type { Exporter } from './exporter.js';
import type { Out } from './out.js';
import { timeline, timelineMetadata, type TraceRecord } from './timeline.js';

export function chromeExport(trace: Trace, run: RunInfo, out: Out): Exporter {
  out.write(`{"displayTimeUnit":"ns","otherData":${JSON.stringify(timelineMetadata(trace, run))},"traceEvents":[\n`);
  let first = true;
  const put = (r: TraceRecord) => {
    out.write(first ? JSON.stringify(r) : `,\n${JSON.stringify(r)}`);
    first = false;
  };
  return { reducers: timeline(trace, run, put), finish: () => out.write('\n]}\n') };
}
