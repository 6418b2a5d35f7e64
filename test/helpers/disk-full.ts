/** A recording that runs out of disk part way: for the tests of what survives a full disk. */
import { Recorder, type RunHeader } from '../../src/trace/recorder.js';
import { emit } from '../../src/trace/vocab/index.js';
import { stamp } from './rows.js';

/**
 * Open `file` with a small page limit, begin a run, and write copy events until the disk is "full";
 * returns the error the recorder threw (EDISKFULL) after finishing the run as failed.
 */
export async function recordUntilDiskFull(file: string, header: RunHeader, opts: { replace?: boolean } = {}): Promise<unknown> {
  const rec = await Recorder.open(file, { writer: 'sync', batch: 1000, maxPageCount: 64 });
  rec.beginRun(header, { replace: opts.replace });
  rec.task(1, 'monitor', false);
  let err: unknown;
  try {
    for (let i = 1; i <= 200_000; i++) {
      rec.event(...stamp(i, i * 10, 1, emit.copy({ addr: 0x7ffd_0000_0000 + i * 4096, len: 4096, folio: i, hash: 0xdeadbeef })));
    }
  } catch (e) {
    err = e;
  }
  rec.finish('failed', err);
  rec.close();
  return err;
}
