/**
 * `emit` (trace/vocab/index.ts) stays an object V8 keeps in fast mode: built a property at a time by
 * computed keys, it became a hash table, and each `emit.x(...)` in the simulation's optimized code
 * was a generic property lookup instead of a constant, its emitter never inlined: the simulation ran
 * some 10% slower (docs/performance.md, "Emitters as constants"). Asked of the built module in a
 * child node, the one place V8's own `%HasFastProperties` can be called.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { ROOT } from './helpers/cli.js';

test('emit is a fast-mode object with an emitter for every kind', () => {
  const vocab = pathToFileURL(join(ROOT, 'dist', 'src', 'trace', 'vocab', 'index.js')).href;
  const script = `const { emit, KINDS } = await import(${JSON.stringify(vocab)});
    console.log(JSON.stringify({ fast: %HasFastProperties(emit), emitters: Object.keys(emit).length, kinds: KINDS.length }));`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  const { fast, emitters, kinds } = JSON.parse(r.stdout) as { fast: boolean; emitters: number; kinds: number };
  expect(emitters).toBe(kinds);
  expect(fast).toBe(true);
});
