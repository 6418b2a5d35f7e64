/**
 * Errors a user can cause or fix (a bad file, an unknown run, a full disk). Library code throws
 * `MmtraceError` with a stable `code`; only `cli/` turns one into a one-line message on stderr and
 * the process exit code.
 *
 * Exit codes: 2 = the command could not do its job (every code below); 1 is left to commands whose
 * negative answer is not an error (`diff` found differences, `check` found failures) and may be used
 * by them for their own MmtraceErrors.
 */

export type ErrorCode =
  /** The trace file does not exist. */
  | 'ENOENT_TRACE'
  /** The file is not a SQLite database, or it is corrupt. */
  | 'ENOTSQLITE'
  /** A SQLite database, but not an mmtrace trace. */
  | 'ENOTTRACE'
  /** The file was written by a newer mmtrace (storage schema newer than this code). */
  | 'ESCHEMA_NEWER'
  /** The file holds a run recorded with a newer event vocabulary than this code reads. */
  | 'ERUN_SCHEMA_NEWER'
  /** The output path cannot be created or written. */
  | 'EUNWRITABLE'
  /** The disk is full (or failed) while writing. Committed data stays readable. */
  | 'EDISKFULL'
  /** `FILE#RUN` names no run of the file. */
  | 'EUNKNOWN_RUN'
  /** The file holds several runs and no `#RUN` says which. */
  | 'EAMBIGUOUS_RUN'
  /** A run with that name already exists in the output file. */
  | 'ERUN_EXISTS'
  /** A malformed `FILE#RUN` reference or argument. */
  | 'EBADREF'
  /** No workload of that name. */
  | 'EUNKNOWN_WORKLOAD'
  /** A bad command-line value (unknown path, parameter, strategy, malformed number). */
  | 'EUSAGE'
  /** mmtrace merge: an input cannot go into the output (a run name taken, another vocabulary). */
  | 'EMERGE'
  /** A `--until` selector that is malformed, beyond the run's end, or matches no event. */
  | 'EBADSEL'
  /** A directory was given where a trace file belongs. */
  | 'EISDIR'
  /** The file's storage schema was migrated by a migration this build does not have. */
  | 'EMIGRATION'
  /** The native SQLite module was built for another Node.js version (or does not load). */
  | 'ENATIVE'
  /** A query that SQLite cannot run. */
  | 'ESQL'
  /** A query that would change the file (query opens it read-only). */
  | 'ESQL_WRITE'
  /**
   * A workload or access-path module that cannot be loaded (missing, changed since the run was
   * recorded, a syntax error, no default export) or that fails while it runs (a throw, a refused
   * clock or random number). The message starts with the module's FILE:LINE.
   */
  | 'EMODULE';

export class MmtraceError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: 1 | 2;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; exitCode?: 1 | 2 }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'MmtraceError';
    this.code = code;
    this.exitCode = options?.exitCode ?? 2;
  }
}

export function isMmtraceError(e: unknown, code?: ErrorCode): e is MmtraceError {
  return e instanceof MmtraceError && (code === undefined || e.code === code);
}

/** The one line a CLI prints for an error (`mmtrace: <message>`), and its exit code. */
export function describeError(e: unknown): { message: string; exitCode: 1 | 2 } {
  if (e instanceof MmtraceError) return { message: e.message, exitCode: e.exitCode };
  const msg = e instanceof Error ? e.message : String(e);
  return { message: `internal error: ${msg.split('\n')[0]}`, exitCode: 2 };
}

// --- helpers: one constructor per code, so messages stay uniform -----------------------------------

export const errors = {
  noTrace: (file: string) =>
    new MmtraceError('ENOENT_TRACE', `${file}: no such trace file (record one with \`npx mmtrace record WORKLOAD --out=${file}\`)`),
  notSqlite: (file: string, cause?: unknown) =>
    new MmtraceError('ENOTSQLITE', `${file}: not a SQLite trace file, or it is corrupt (check the path; re-record it if it was damaged)`, { cause }),
  notTrace: (file: string) =>
    new MmtraceError('ENOTTRACE', `${file}: a SQLite database but not an mmtrace trace (no mmtrace schema in it); pass a file written by \`npx mmtrace record\``),
  schemaNewer: (file: string, fileVersion: number, known: number) =>
    new MmtraceError('ESCHEMA_NEWER', `${file}: written by a newer mmtrace (storage schema ${fileVersion}, this build knows up to ${known}); upgrade mmtrace to read it`),
  runSchemaNewer: (file: string, run: string, runVersion: number, known: number) =>
    new MmtraceError('ERUN_SCHEMA_NEWER', `${file}#${run}: recorded by a newer mmtrace (event schema ${runVersion}, this build reads up to ${known}); upgrade mmtrace to read it`),
  badSql: (file: string, why: string, cause?: unknown) =>
    new MmtraceError('ESQL', `${file}: the query fails: ${why.split('\n')[0]}`, { cause }),
  sqlWrites: (file: string) =>
    new MmtraceError('ESQL_WRITE', `${file}: the query would change the file; query opens trace files read-only, so it was not run`),
  isDirectory: (file: string) =>
    new MmtraceError('EISDIR', `${file}: is a directory, not a trace file; give a file path such as ${file.replace(/\/+$/, '')}/trace.db`),
  unknownMigration: (file: string, why: string, cause?: unknown) =>
    new MmtraceError('EMIGRATION', `${file}: its storage schema was changed by a migration this build does not have (${why}); read it with the mmtrace that wrote it`, { cause }),
  nativeModule: (why: string, cause?: unknown) =>
    new MmtraceError('ENATIVE', `the SQLite module (better-sqlite3) does not load in Node ${process.versions.node} (${nativeWhy(why)}); it was built for another Node version: run \`npm rebuild better-sqlite3\``, { cause }),
  unwritable: (file: string, why: string, cause?: unknown, what = 'the trace file') =>
    new MmtraceError('EUNWRITABLE', `${file}: cannot write ${what} (${why}); choose another --out path or fix its permissions`, { cause }),
  diskFull: (file: string, committed: number, cause?: unknown, kept?: string) =>
    new MmtraceError('EDISKFULL', `${file}: disk full or write error while recording; the ${committed} events committed before it stay readable, the run is marked failed${kept ? `; ${kept}` : ''}; free space and record again`, { cause }),
  unknownRun: (file: string, sel: string, names: readonly string[]) =>
    new MmtraceError('EUNKNOWN_RUN', `${file}: no run '${sel}' (runs: ${names.length ? names.join(', ') : 'none'}); use ${file}#NAME or ${file}#ID`),
  runGone: (file: string, name: string) =>
    new MmtraceError('EUNKNOWN_RUN', `${file}#${name}: the run was deleted or replaced (record --replace) while it was open; open it again`),
  ambiguousRun: (file: string, names: readonly string[]) =>
    new MmtraceError('EAMBIGUOUS_RUN', `${file} holds ${names.length} runs (${names.join(', ')}); pick one with ${file}#NAME`),
  runExists: (file: string, name: string) =>
    new MmtraceError('ERUN_EXISTS', `${file}: a run named '${name}' already exists; choose another --name, record into another file, or --replace it`),
  badRef: (ref: string, why: string) =>
    new MmtraceError('EBADREF', `'${ref}': ${why} (expected FILE or FILE#RUN)`),
  unknownWorkload: (name: string, known: readonly string[]) =>
    new MmtraceError('EUNKNOWN_WORKLOAD', `unknown workload '${name}'${didYouMean(name, known)} (workloads: ${known.join(', ')}; see \`npx mmtrace workloads\`)`),
  usage: (message: string) => new MmtraceError('EUSAGE', message),
  module: (where: string, why: string, cause?: unknown) => new MmtraceError('EMODULE', `${where}: ${why}`, { cause }),
  mergeConflict: (out: string, why: string) =>
    new MmtraceError('EMERGE', `${out}: nothing merged: ${why}`),
};

/** ` (did you mean 'x'?)` for a name one or two edits from a known one, else ''. */
export function didYouMean(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Node's "compiled against NODE_MODULE_VERSION a ... requires b" in a few words, else the first line. */
function nativeWhy(message: string): string {
  const m = /using\s+NODE_MODULE_VERSION (\d+)[\s\S]*requires\s+NODE_MODULE_VERSION (\d+)/.exec(message);
  return m ? `built for NODE_MODULE_VERSION ${m[1]}, this Node needs ${m[2]}` : message.split('\n')[0]!;
}
