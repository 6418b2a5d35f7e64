/**
 * The chrome export in a real viewer: speedscope (from npm, served from its release build) in
 * headless Chromium (Debian's `chromium`, which .ci/run installs), driven by playwright-core. It
 * must import the trace and show one profile per task of the run, named after the task.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
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
/** Every task of the run as speedscope names a thread's profile: "<thread_name> (tid T)". */
let taskThreads: string[];
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
  const r = mmtrace(['export', file, '--format=chrome', `--out=${trace}`]);
  expect(r.status, r.stderr).toBe(0);
  // The run's own tasks, not the export's thread_name records, so that a task the export leaves out fails the test.
  const tasks: { tid: number; name: string }[] = mmtraceJson(['replay', file]).state.tasks;
  taskThreads = tasks.map((t) => `${t.name} (tid ${t.tid})`).sort();
  await serve();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

/**
 * Opens the export in speedscope and waits until it shows the profile selector, "<name> (1/N)".
 * speedscope gives up either with an alert (an unrecognized or empty profile; it then goes back to
 * its landing page, which would leave us waiting) or with its error screen (an importer threw): both
 * fail here at once, with what speedscope said.
 */
async function openInSpeedscope(page: Page): Promise<void> {
  let alerted!: (message: string) => void;
  const alert = new Promise<string>((resolve) => { alerted = resolve; });
  page.on('dialog', (d) => { alerted(d.message()); void d.dismiss(); });
  await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(`${base}/trace.json`)}`);
  const errorScreen = page.getByText('Something went wrong');
  const shown = profileIndex(page).or(errorScreen).waitFor({ timeout: 30_000 }).then(() => null);
  // When the alert wins the race, the wait it beat ends later with the page: that is no second failure.
  shown.catch(() => {});
  expect(await Promise.race([shown, alert]), 'speedscope alerted').toBeNull();
  expect(await errorScreen.isVisible(), 'speedscope shows its error screen').toBe(false);
}

/** The "(i/N)" after the profile's name in the toolbar, shown only when there is more than one profile. */
function profileIndex(page: Page) {
  return page.getByText(/^\(\d+\/\d+\)$/);
}

/**
 * The profiles in speedscope's profile selector, which opens on hovering the toolbar's profile name:
 * one table row per profile, named "<process> (pid P), <thread> (tid T)" from the metadata records.
 */
async function listedThreads(page: Page): Promise<string[]> {
  await profileIndex(page).hover();
  // Role queries skip hidden elements: the list is in the DOM before it opens, but only shown after.
  const rows = page.getByRole('row').filter({ hasText: /\(tid \d+\)/ });
  await rows.first().waitFor();
  return (await rows.allInnerTexts()).map((row) => row.match(/\(pid \d+\), (.+? \(tid \d+\))/)?.[1] ?? row);
}

describe('the chrome export in speedscope (headless Chromium)', () => {
  test('imports as Trace Event Format and shows one profile per task, named after it', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openInSpeedscope(page);
    expect(await profileIndex(page).innerText()).toBe(`(1/${taskThreads.length})`);
    expect((await listedThreads(page)).sort()).toEqual(taskThreads);
    expect(errors).toEqual([]);
    await page.close();
  });
});
