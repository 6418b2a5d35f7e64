/**
 * The layer rules of DESIGN.md "The layers" (dependency-cruiser): `npm test` checks them in
 * test/layers.test.ts, `npm run check:layers` prints what breaks them.
 *
 * Dependencies point down this list, never up:
 *
 *   cli/                                   the `mmtrace` command; tui/ (top level) beside it
 *   replay/ diff/ record/ check/ explore/ export/   consumers of runs (record: the recording service)
 *   modules/                               workload and path modules loaded from a file, for them
 *   reduce/                                reducers shared by the consumers (reads events, no model)
 *   workloads/ (and api/)                  scenario programs; api/ is what a module imports
 *   linux/                                 the emulated kernel
 *   sim/                                   the deterministic scheduler
 *   trace/                                 event vocabulary, recorder, reader
 *   store/ (and migrations/)               the SQLite file: open, schema, typed queries
 *
 * errors.ts sits under everything (it imports nothing of ours); version.ts hashes the model's files
 * and belongs to the consumers. api/ (`mmtrace/workload`, `mmtrace/linux`) re-exports the model for
 * modules: nothing of mmtrace imports it, modules/ hands its URL to the module loader. tui/ reads runs only through store/, trace/, replay/ and diff/.
 * No cycles anywhere in src/, type-only imports included: a type cycle ties modules together as
 * much as a value cycle does.
 */
const CONSUMERS = ['replay', 'diff', 'record', 'check', 'explore', 'export', 'modules', 'review'];
const ABOVE_WORKLOADS = ['reduce', ...CONSUMERS, 'cli'];
const VERSION = '^src/version\\.ts$';

/** A path pattern for these folders of src/. */
function under(...folders) {
  return `^src/(${folders.flat().join('|')})/`;
}

/** `from` must not import anything matching `to`. */
function forbid(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: to } };
}

module.exports = {
  forbidden: [
    forbid('store-is-the-bottom',
      'store/ knows only SQLite and its own row types: it imports no other layer (the recorder hands it the layout rows)',
      '^(src/store|migrations)/',
      [under('trace', 'sim', 'linux', 'workloads', ABOVE_WORKLOADS), VERSION]),
    forbid('trace-below-sim',
      'trace/ (vocabulary, recorder, reader) imports only store/',
      '^src/trace/',
      [under('sim', 'linux', 'workloads', ABOVE_WORKLOADS), VERSION]),
    forbid('sim-below-linux',
      'the scheduler knows nothing of the kernel model, the workloads or the consumers',
      '^src/sim/',
      [under('linux', 'workloads', ABOVE_WORKLOADS), VERSION]),
    forbid('linux-below-workloads',
      'the kernel model knows nothing of the scenarios that drive it or of who reads its log',
      '^src/linux/',
      [under('workloads', ABOVE_WORKLOADS), VERSION]),
    forbid('workloads-below-consumers',
      'workloads are programs for the model; they do not read runs',
      '^src/workloads/',
      [under(ABOVE_WORKLOADS), VERSION]),
    forbid('api-is-the-model-only',
      'api/ is the public surface of the model for workload and path modules: it reads no runs and no files',
      '^src/api/',
      [under(ABOVE_WORKLOADS), VERSION, '^(src/store|migrations)/']),
    {
      name: 'nothing-imports-api',
      comment: 'mmtrace reaches its API modules the way a module does, by specifier (modules/load.ts): its own code imports the layers themselves',
      severity: 'error',
      from: { path: '^(src|tui)/', pathNot: '^src/api/' },
      to: { path: '^src/api/' },
    },
    forbid('model-knows-no-storage',
      'the simulator, the kernel model and the workloads hand events to a sink; they never touch the file',
      under('sim', 'linux', 'workloads'),
      '^(src/store|migrations)/'),
    forbid('reduce-reads-events-only',
      'shared reducers fold decoded events: they import trace/ and store/, never the model or a consumer',
      '^src/reduce/',
      [under('sim', 'linux', 'workloads', CONSUMERS, 'cli'), VERSION]),
    forbid('consumers-below-cli',
      'replay, diff and the other consumers are libraries: the command line sits on them, not under',
      under(CONSUMERS),
      under('cli')),
    forbid('errors-is-a-leaf',
      'errors.ts is imported by every layer, so it imports none',
      '^src/errors\\.ts$',
      '^(src|migrations|tui)/'),
    {
      name: 'tui-reads-through-store-trace-reduce-replay-diff',
      comment: 'the browser reads runs only through store/, trace/, the shared reducers, replay/ and diff/',
      severity: 'error',
      from: { path: '^tui/' },
      to: { path: '^(src|migrations)/', pathNot: '^src/(store|trace|reduce|replay|diff)/|^src/errors\\.ts$' },
    },
    forbid('src-imports-no-tests',
      'src/ is the library and the command: it never imports the tests',
      '^(src|migrations)/',
      '^test/'),
    {
      name: 'only-cli-opens-the-browser',
      comment: 'tui/ sits beside cli/ at the top: the command opens it (`mmtrace tui`, the bench figure), nothing below does',
      severity: 'error',
      from: { path: '^(src|migrations)/', pathNot: '^src/cli/' },
      to: { path: '^tui/' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles in src/ or tui/',
      severity: 'error',
      from: { path: '^(src|tui)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    // count `import type` too: a type import from a lower layer to a higher one is still upward
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
    cache: false,
  },
};
