/**
 * The writer worker starts before the recorder has checked its file and opens the file only when
 * told (WorkerBackend.boot, then open()). Whatever stops it before that, a thread that cannot be
 * started, a script that fails to load or one that exits, is kept and told by open(): it neither
 * ends the process (an 'error' event nobody listens to would) nor leaves open() waiting forever.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WorkerBackend } from '../src/trace/writer-backend.js';
import { tempDir } from './helpers/cli.js';

const dir = tempDir();
const sizes = { batch: 16, blobBytes: 1024 };

/** A worker script of `source`, as a file URL. */
function script(name: string, source: string): URL {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, source);
  return pathToFileURL(file);
}

describe('a writer worker that fails before it is told to open', () => {
  it('a thread that cannot be started: open() rejects with why', async () => {
    const booting = WorkerBackend.boot(new URL('http://example.invalid/writer.js'), 2, sizes);
    await expect(booting.open(join(dir, 'a.db'), undefined)).rejects.toThrow(/scheme/);
  });

  it('a script that throws as it loads: kept until open(), which rejects with it', async () => {
    const booting = WorkerBackend.boot(script('throws', 'throw new Error("boom at load");'), 2, sizes);
    await sleep(500); // the worker fails meanwhile, as it would while the recorder checks the file
    await expect(booting.open(join(dir, 'b.db'), undefined)).rejects.toThrow(/boom at load/);
  });

  it('a script that exits: open() rejects rather than waiting for an answer', async () => {
    const booting = WorkerBackend.boot(script('exits', 'process.exit(3);'), 2, sizes);
    await sleep(500);
    await expect(booting.open(join(dir, 'c.db'), undefined)).rejects.toThrow(/exited \(3\) before it was ready/);
  });
});
