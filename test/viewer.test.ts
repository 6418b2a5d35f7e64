/**
 * The chrome export in a real viewer: speedscope (from npm, served from its release build) in
 * headless Chromium (Debian's `chromium`, which .ci/run installs), driven by playwright-core. It
 * must import the trace and show one profile per task, named after the task.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mmtrace, mmtraceJson, ROOT, tempDir } from './helpers/cli.js';

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const SPEEDSCOPE = join(ROOT, 'node_modules', 'speedscope', 'dist', 'release');
const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm',
};

let server: Server;
let browser: Browser;
let base: string;
const dir = tempDir();
const trace = join(dir, 'stuck.json');

/** speedscope's files, and the export at /trace.json. */
function serve(): Promise<void> {
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = path === '/trace.json' ? trace : join(SPEEDSCOPE, path === '/' ? 'index.html' : path);
    if (!file.startsWith(SPEEDSCOPE) && file !== trace) return void res.writeHead(403).end();
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    resolve();
  }));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM`);
  const file = join(dir, 'stuck.db');
  mmtraceJson(['record', 'stuck-writer', `--out=${file}`]);
  expect(mmtrace(['export', file, `--out=${trace}`]).status).toBe(0);
  await serve();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe('the chrome export in speedscope (headless Chromium)', () => {
  test('imports as Trace Event Format and shows one profile per task, named after it', { timeout: 60_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(`${base}/trace.json`)}`);
    // The profile selector in the toolbar reads "<name> (1/N)" once a multi-thread trace is loaded.
    const selector = page.getByText(/^\(1\/\d+\)$/);
    await selector.waitFor({ timeout: 30_000 });
    expect(await selector.innerText()).toBe('(1/4)');
    await selector.click();
    // The list of profiles: "<process> (pid P), <thread> (tid T)" per row.
    const body = await page.innerText('body');
    const threads = [...body.matchAll(/, (\S+) \(tid \d+\)/g)].map((m) => m[1]!);
    expect([...new Set(threads)].sort()).toEqual(['init', 'monitor', 'rcu_gp', 'writer']);
    expect(errors).toEqual([]);
    await page.close();
  });
});
