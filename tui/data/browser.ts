/**
 * The run view's state and keys, with no terminal in it: the cursor, the page of events on
 * screen, the filter and search, marks, the jump history, the focused panel and the prompts. The
 * ink components draw a `Frame`; every key goes through `key()`. Keeping it plain lets the same
 * logic be driven by tests, the benchmark and the terminal.
 */
import { resolveSelector } from '../../src/replay/select.js';
import type { EventFilter, QueryResult } from '../../src/trace/reader.js';
import { KINDS } from '../../src/trace/vocab/index.js';
import { computeLanes, type Lane, type Lanes } from './lanes.js';
import { matchCall, matchOf, previousTouch, type Search } from './origin.js';
import { lineMatches, parseQuery, QueryError, type Query } from './query.js';
import type { EventLine, RunSource } from './run-source.js';
import { StateAt, type StateAtCursor } from './state-at.js';
import { panelLines, type PanelLine } from './state-items.js';

export type Panel = 'list' | 'state' | 'lanes';
export type PromptKind = ':' | '/' | 'f' | ';';

/** A key as ink reports it (only what the browser reads). */
export interface Key {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  shift?: boolean;
  ctrl?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/**
 * One key per character: a terminal hands over what was typed since the last read in one chunk
 * (a paste, `tmux send-keys`, a fast typist), and ink reports the chunk as one input. Enter, Tab
 * and Backspace inside it become their keys.
 */
export function splitKeys(input: string, key: Key): [string, Key][] {
  const special = Object.entries(key).some(([name, on]) => on && name !== 'shift');
  if (input.length <= 1 || special) return [[input, key]];
  return [...input].map((c): [string, Key] => {
    if (c === '\r' || c === '\n') return ['', { return: true }];
    if (c === '\t') return ['', { tab: true }];
    if (c === '\x7f' || c === '\b') return ['', { backspace: true }];
    return [c, {}];
  });
}

export interface ListRow extends EventLine {
  /** Emulated call depth (0 in a filtered list, whose rows are not consecutive). */
  depth: number;
  marked: boolean;
}

export interface SqlPane {
  sql: string;
  result: QueryResult;
  selected: number;
  /** Rows beyond the ones kept (a query is cut at SQL_ROWS). */
  cut: boolean;
}

export interface Layout {
  listRows: number;
  laneRows: number;
  stateRows: number;
  /** Columns of lane cells. */
  laneColumns: number;
  /** List and state side by side (wide terminals) or stacked. */
  sideBySide: boolean;
}

const WARNING_KINDS = KINDS.filter((k) => k.family === 'check' && k.name !== 'event_limit').map((k) => k.name);
const REQUEST_KINDS = ['request_begin', 'request_end'];
const SQL_ROWS = 1000;
/** How many events a text search reads per key press before it says where it stopped. */
const TEXT_SEARCH_SPAN = 1_000_000;

/** Rows for each panel in a terminal of `rows` x `cols`. */
export function layoutFor(rows: number, cols: number): Layout {
  // the status line and the prompt/message line below; the frame fills the terminal, so ink
  // repaints it whole each time instead of moving the cursor back up over the last one
  const body = Math.max(6, rows - 2);
  const sideBySide = cols >= 150;
  // the lanes' header, a lane per task worth showing, and the legend when there is room
  const laneRows = Math.min(10, Math.max(4, Math.floor(body / 5)));
  const listRows = sideBySide ? body - laneRows : Math.max(4, Math.floor((body - laneRows) * 0.55));
  const stateRows = sideBySide ? body : body - laneRows - listRows;
  const laneColumns = Math.max(10, (sideBySide ? cols - Math.min(80, Math.floor(cols * 0.4)) : cols) - 14);
  return { listRows, laneRows, stateRows, laneColumns, sideBySide };
}

/**
 * Lanes worth a row first: the cursor's task, then tasks that hold, wait for or spin on something
 * in the window, then the rest; a task that does not exist anywhere in the window gets none.
 */
function byInterest(lanes: Lane[], cursorTid: number): Lane[] {
  const rank = (l: Lane) => (l.tid === cursorTid ? 0 : /[Mmwvpsor]/.test(l.cells) ? 1 : 2);
  return lanes.filter((l) => l.cells.trim() !== '').sort((x, y) => rank(x) - rank(y) || x.tid - y.tid);
}

export class Browser {
  cursor = 1;
  top = 1;
  focus: Panel = 'list';
  filter: Query | null = null;
  search: Query | null = null;
  readonly marks = new Set<number>();
  private readonly back: number[] = [];
  stateSelected = 0;
  prompt: { kind: PromptKind; text: string } | null = null;
  message = '';
  help = false;
  sql: SqlPane | null = null;
  following = false;
  layout: Layout;
  readonly state: StateAt;

  constructor(readonly source: RunSource, rows = 24, cols = 80) {
    this.state = new StateAt(source);
    this.layout = layoutFor(rows, cols);
  }

  resize(rows: number, cols: number): void {
    this.layout = layoutFor(rows, cols);
    this.reveal();
  }

  get count(): number {
    return this.source.count;
  }

  private get sqlFilter(): EventFilter | null {
    return this.filter?.filter ?? null;
  }

  // --- moving -----------------------------------------------------------------------------------

  /** The event `n` rows away from `seq` in the list (filtered or not), clamped to the list's ends. */
  private stepFrom(seq: number, n: number): number {
    if (n === 0) return seq;
    const forward = n > 0;
    const rows = this.source.matching(this.sqlFilter, forward ? seq + 1 : seq - 1, Math.abs(n), forward ? 'forward' : 'backward');
    return rows.length ? rows[rows.length - 1]![0] : seq;
  }

  private firstOfList(): number {
    return this.source.matching(this.sqlFilter, 1, 1, 'forward')[0]?.[0] ?? 1;
  }

  private lastOfList(): number {
    return this.source.matching(this.sqlFilter, this.count, 1, 'backward')[0]?.[0] ?? this.count;
  }

  /** Move the cursor to `seq` without remembering where it was (j, k, paging). */
  moveTo(seq: number): void {
    this.cursor = Math.min(Math.max(1, seq), Math.max(1, this.count));
    this.reveal();
  }

  /** Jump to `seq`, remembering the cursor for Ctrl-o. */
  jump(seq: number, what?: string): void {
    if (seq !== this.cursor) this.back.push(this.cursor);
    this.moveTo(seq);
    this.centre();
    if (what) this.message = `#${seq}: ${what}`;
  }

  /**
   * Scroll so the cursor sits mid-page, with what led to it above and what follows below; near
   * the end of the list the last page stays full instead (as less does), the cursor below the middle.
   */
  private centre(): void {
    this.top = this.stepFrom(this.cursor, -Math.floor(this.layout.listRows / 2));
    this.fillLastPage();
  }

  /** Keep the cursor on screen: scroll the page when it left it. */
  private reveal(): void {
    const h = this.layout.listRows;
    if (this.cursor < this.top) {
      this.top = this.cursor;
      return;
    }
    const bottom = this.stepFrom(this.top, h - 1);
    if (this.cursor > bottom) this.top = this.stepFrom(this.cursor, -(h - 1));
    // the terminal grew, or the list shrank under a filter
    this.fillLastPage();
  }

  /**
   * A page that runs past the end of the list shows more of what comes before, so the list ends
   * on the pane's last row and no row of the pane is left blank (unless the whole list is shorter
   * than the pane).
   */
  private fillLastPage(): void {
    const h = this.layout.listRows;
    const shown = this.source.matching(this.sqlFilter, this.top, h, 'forward').length;
    if (shown < h) this.top = Math.min(this.top, this.stepFrom(this.lastOfList(), -(h - 1)));
  }

  // --- what is on screen ------------------------------------------------------------------------

  /** The page of events on screen, with call depth and marks. */
  rows(): ListRow[] {
    const h = this.layout.listRows;
    const raw = this.source.matching(this.sqlFilter, this.top, h, 'forward');
    const lines = raw.map((r) => this.source.line(r));
    const depths = this.sqlFilter === null ? this.depths(lines) : lines.map(() => 0);
    return lines.map((l, i) => ({ ...l, depth: depths[i]!, marked: this.marks.has(l.seq) }));
  }

  /**
   * Call depth of consecutive events, from the stacks at the cursor: walked back from the cursor
   * and forward from it (a call_enter is drawn at its caller's depth, its call_exit likewise).
   */
  private depths(lines: EventLine[]): number[] {
    const at = lines.findIndex((l) => l.seq === this.cursor);
    const doc = this.stateAtCursor().doc;
    const after = new Map(doc.tasks.map((t) => [t.tid, t.stack.length]));
    const out = new Array<number>(lines.length).fill(0);
    const start = at < 0 ? -1 : at;
    const walkBack = new Map(after);
    for (let i = start; i >= 0; i--) {
      const l = lines[i]!;
      const d = walkBack.get(l.tid) ?? 0;
      out[i] = l.kind === 'call_enter' ? Math.max(0, d - 1) : d;
      walkBack.set(l.tid, l.kind === 'call_enter' ? d - 1 : l.kind === 'call_exit' ? d + 1 : d);
    }
    const walkOn = new Map(after);
    for (let i = start + 1; i < lines.length; i++) {
      const l = lines[i]!;
      let d = walkOn.get(l.tid) ?? 0;
      if (l.kind === 'call_exit') d = Math.max(0, d - 1);
      out[i] = d;
      walkOn.set(l.tid, l.kind === 'call_enter' ? d + 1 : d);
    }
    return out;
  }

  stateAtCursor(): StateAtCursor {
    return this.state.at(this.cursor);
  }

  cursorLine(): EventLine | undefined {
    return this.source.event(this.cursor);
  }

  /** The state panel's lines at the cursor. */
  panel(): PanelLine[] {
    const s = this.stateAtCursor();
    const line = this.cursorLine();
    const tid = line?.tid ?? 0;
    return panelLines(s, tid, this.foliosOfRequest(s, tid));
  }

  /** Folios the cursor task's request in flight has touched so far. */
  private foliosOfRequest(s: StateAtCursor, tid: number): Set<number> {
    const id = s.doc.tasks.find((t) => t.tid === tid)?.request;
    const req = id ? s.doc.requests.find((r) => r.id === id) : undefined;
    if (!req) return new Set();
    const begin = this.source.next({ kinds: ['request_begin'], tids: [tid] }, this.cursor, 'backward');
    if (begin === undefined) return new Set();
    const folioKinds = KINDS.filter((k) => k.fields.includes('folio')).map((k) => ({ kind: k.name, field: 'folio', lo: 0, hi: Number.MAX_SAFE_INTEGER }));
    const rows = this.source.matching({ tids: [tid], anyField: folioKinds, seqRanges: [[begin, this.cursor]] }, begin, 256, 'forward');
    const out = new Set<number>();
    for (const r of rows) {
      const e = this.source.decoder.decode(r) as unknown as { folio?: number };
      if (typeof e.folio === 'number') out.add(e.folio);
    }
    return out;
  }

  /** The lock lanes of the events around the cursor. */
  lanes(): Lanes {
    // a run still recording may not have committed its first event yet (--follow opened it early)
    if (this.count === 0) return { seqs: [], cursor: 0, lanes: [] };
    const w = this.layout.laneColumns;
    const from = Math.max(1, Math.min(this.cursor - Math.floor(w / 2), this.count - w + 1));
    const to = Math.min(this.count, from + w - 1);
    const window = this.source.rows(from, to).map((r) => this.source.decoder.decode(r));
    const lanes = computeLanes(this.stateAtCursor().doc, window, this.cursor);
    return { ...lanes, lanes: byInterest(lanes.lanes, this.cursorLine()?.tid ?? 0) };
  }

  status(): string {
    const run = this.source.run;
    const variant = run.variant.length ? `+${run.variant.join('+')}` : '';
    const config = Object.entries(run.config).map(([k, v]) => `${k}=${v}`).join(',');
    const filter = this.filter ? ` filter[${this.filter.source}]` : '';
    const marks = this.marks.size ? ` marks ${this.marks.size}` : '';
    const state = run.status === 'complete' ? '' : ` ${run.status.toUpperCase()}`;
    const follow = this.following ? ' following' : '';
    const tick = this.stateAtCursor().doc.tick;
    return `${this.cursor}/${this.count} tick ${tick}${state}${follow}${filter}${marks} | ${this.source.trace.file}#${run.name} ${run.workload} ${run.path}${variant} seed ${run.seed}${config ? ` ${config}` : ''}`;
  }

  // --- keys -------------------------------------------------------------------------------------

  /** Handle one key; returns 'quit' when the browser should exit. */
  key(input: string, key: Key): 'quit' | void {
    this.message = '';
    if (key.ctrl && input === 'c') return 'quit';
    if (this.prompt) return this.promptKey(input, key);
    if (this.help) {
      this.help = false;
      return;
    }
    if (this.sql && this.focus === 'list' && this.sqlKey(input, key)) return;
    if (input === 'q') return 'quit';
    if (key.tab) {
      const order: Panel[] = ['list', 'state', 'lanes'];
      this.focus = order[(order.indexOf(this.focus) + (key.shift ? 2 : 1)) % 3]!;
      if (this.focus === 'state') this.selectItem();
      return;
    }
    if (this.focus === 'state' && this.stateKey(input, key)) return;
    this.listKey(input, key);
  }

  private listKey(input: string, key: Key): void {
    const page = this.layout.listRows - 1;
    if (key.ctrl && input === 'o') this.goBack();
    else if (input === 'j' || key.downArrow) this.moveTo(this.stepFrom(this.cursor, 1));
    else if (input === 'k' || key.upArrow) this.moveTo(this.stepFrom(this.cursor, -1));
    else if (key.pageDown || input === ' ' || (key.ctrl && input === 'f')) this.page(page);
    else if (key.pageUp || input === 'b' || (key.ctrl && input === 'b')) this.page(-page);
    else if (input === 'g' || key.home) this.jump(this.firstOfList());
    else if (input === 'G' || key.end) this.jump(this.lastOfList());
    else if (input === ':' || input === '/' || input === 'f' || input === ';') this.prompt = { kind: input, text: '' };
    else if (input === 'F') this.clearFilter();
    else if (input === 'n') this.repeatSearch(false);
    else if (input === 'N') this.repeatSearch(true);
    else if (input === 'm') this.toggleMark();
    else if (input === "'") this.nextMark();
    else if (input === 'w') this.jumpToKind(WARNING_KINDS, 'forward', 'warning');
    else if (input === 'W') this.jumpToKind(WARNING_KINDS, 'backward', 'warning');
    else if (input === 'r') this.jumpToKind(REQUEST_KINDS, 'forward', 'request boundary');
    else if (input === 'R') this.jumpToKind(REQUEST_KINDS, 'backward', 'request boundary');
    else if (input === 'o') this.originOfEvent();
    else if (input === '%') this.matchEvent();
    else if (input === '?') this.help = true;
  }

  private page(n: number): void {
    const target = this.stepFrom(this.cursor, n);
    this.top = this.stepFrom(this.top, n);
    this.moveTo(target);
  }

  private promptKey(input: string, key: Key): void {
    const p = this.prompt!;
    if (key.escape) {
      this.prompt = null;
      return;
    }
    if (key.return) {
      this.prompt = null;
      this.submit(p.kind, p.text);
      return;
    }
    if (key.backspace || key.delete) {
      p.text = p.text.slice(0, -1);
      return;
    }
    if (!key.ctrl && input) p.text += input;
  }

  private submit(kind: PromptKind, text: string): void {
    try {
      if (kind === ':') this.jump(resolveSelector(this.source.trace, this.source.run, text.trim()));
      else if (kind === '/') this.startSearch(text);
      else if (kind === 'f') this.applyFilter(text);
      else this.runSql(text);
    } catch (e) {
      this.message = (e as Error).message;
    }
  }

  // --- search and filter ------------------------------------------------------------------------

  private startSearch(text: string): void {
    this.search = parseQuery(text, this.source, true);
    this.repeatSearch(false);
  }

  /** n: the next match; N (backward): the previous one. */
  private repeatSearch(backward: boolean): void {
    if (!this.search) {
      this.message = 'no search yet: / to search';
      return;
    }
    const found = this.findMatch(this.search, backward);
    if (found === undefined) this.message ||= `no ${backward ? 'earlier' : 'later'} match for ${this.search.source}`;
    else this.jump(found);
  }

  /** The next event the search matches, beyond the cursor: SQL for the structured part, text by reading. */
  private findMatch(q: Query, backward: boolean): number | undefined {
    const direction = backward ? 'backward' : 'forward';
    let from = backward ? this.cursor - 1 : this.cursor + 1;
    let read = 0;
    while (read < TEXT_SEARCH_SPAN && from >= 1 && from <= this.count) {
      // a search SQL answers alone needs its first match; text is read from a page of candidates
      const rows = this.source.matching(q.filter, from, q.text === null ? 1 : 2048, direction);
      if (rows.length === 0) return undefined;
      for (const r of rows) if (q.text === null || lineMatches(q, this.source.line(r))) return r[0];
      read += rows.length;
      from = rows[rows.length - 1]![0] + (backward ? -1 : 1);
    }
    if (read >= TEXT_SEARCH_SPAN) this.message = `searched ${read} events up to #${from}: n to go on`;
    if (read >= TEXT_SEARCH_SPAN) this.moveTo(from);
    return undefined;
  }

  private applyFilter(text: string): void {
    const q = parseQuery(text, this.source, false);
    const first = this.source.next(q.filter!, this.cursor, 'forward') ?? this.source.next(q.filter!, this.cursor, 'backward');
    if (first === undefined) throw new QueryError(`no event matches ${q.source}`);
    this.filter = q;
    this.top = first;
    this.moveTo(first);
  }

  private clearFilter(): void {
    this.filter = null;
    this.moveTo(this.cursor);
  }

  // --- marks, warnings, requests, origins ------------------------------------------------------

  private toggleMark(): void {
    if (this.marks.has(this.cursor)) this.marks.delete(this.cursor);
    else this.marks.add(this.cursor);
    this.message = this.marks.has(this.cursor) ? `marked #${this.cursor}` : `unmarked #${this.cursor}`;
  }

  private nextMark(): void {
    const sorted = [...this.marks].sort((a, b) => a - b);
    if (sorted.length === 0) {
      this.message = "no marks: m marks the cursor's event";
      return;
    }
    this.jump(sorted.find((s) => s > this.cursor) ?? sorted[0]!, 'mark');
  }

  private jumpToKind(kinds: string[], direction: 'forward' | 'backward', what: string): void {
    const from = direction === 'forward' ? this.cursor + 1 : this.cursor - 1;
    const found = this.source.next({ kinds }, from, direction);
    if (found === undefined) this.message = `no ${direction === 'forward' ? 'later' : 'earlier'} ${what}`;
    else this.jump(found, what);
  }

  private follow(search: Search | null, none: string): void {
    const found = search ? this.nearest(search) : undefined;
    if (found === undefined) this.message = none;
    else this.jump(found, search!.what);
  }

  /** The nearest event, in the search's direction, that any of its filters matches. */
  private nearest(search: Search): number | undefined {
    const hits = search.filters.map((f) => this.source.next(f, search.from, search.direction)).filter((s) => s !== undefined);
    if (hits.length === 0) return undefined;
    return search.direction === 'forward' ? Math.min(...hits) : Math.max(...hits);
  }

  /** `o` on the list: the event before the cursor's that changed the same object. */
  private originOfEvent(): void {
    const line = this.cursorLine();
    if (!line) return;
    this.follow(previousTouch(line.event), `nothing earlier touches what #${line.seq} is about`);
  }

  /** `%`: the other half of the cursor's event. */
  private matchEvent(): void {
    const line = this.cursorLine();
    if (!line) return;
    const call = matchCall(this.source, line.event);
    if (call !== undefined) return this.jump(call, line.kind === 'call_enter' ? 'its return' : 'its entry');
    this.follow(matchOf(line.event), `#${line.seq} ${line.kind} has no other half`);
  }

  private goBack(): void {
    const seq = this.back.pop();
    if (seq === undefined) this.message = 'no earlier jump to go back to';
    else {
      this.moveTo(seq);
      this.centre();
    }
  }

  // --- the state panel --------------------------------------------------------------------------

  /** The selectable lines' indices in the panel. */
  private selectable(lines: PanelLine[]): number[] {
    return lines.flatMap((l, i) => (l.key === null ? [] : [i]));
  }

  /** Keep the state panel's selection on an item (not a heading), the first one when it was on none. */
  private selectItem(): void {
    const sel = this.selectable(this.panel());
    if (!sel.includes(this.stateSelected)) this.stateSelected = sel[0] ?? 0;
  }

  private stateKey(input: string, key: Key): boolean {
    const lines = this.panel();
    const sel = this.selectable(lines);
    const at = Math.max(0, sel.indexOf(this.stateSelected));
    if (input === 'j' || key.downArrow) this.stateSelected = sel[Math.min(sel.length - 1, at + 1)] ?? 0;
    else if (input === 'k' || key.upArrow) this.stateSelected = sel[Math.max(0, at - 1)] ?? 0;
    else if (input === 'o' || key.return) {
      const line = lines[this.stateSelected] ?? lines[sel[0] ?? 0];
      this.follow(line?.origin ?? null, 'no event sets this item');
      if (this.message === '' || this.message.startsWith('#')) this.focus = 'list';
    } else return false;
    return true;
  }

  // --- SQL --------------------------------------------------------------------------------------

  private runSql(sql: string): void {
    let result: QueryResult;
    try {
      result = this.source.trace.query(`SELECT * FROM (${sql.replace(/;\s*$/, '')}) LIMIT ${SQL_ROWS + 1}`);
    } catch {
      result = this.source.trace.query(sql);
    }
    const cut = result.rows.length > SQL_ROWS;
    this.sql = { sql, result: { columns: result.columns, rows: result.rows.slice(0, SQL_ROWS) }, selected: 0, cut };
    this.message = `${this.sql.result.rows.length}${cut ? '+' : ''} rows: j/k select, Enter jumps to a row's seq, Esc closes`;
  }

  /** Keys while the SQL pane is open: it takes j/k, Enter and Esc. */
  private sqlKey(input: string, key: Key): boolean {
    const pane = this.sql!;
    if (key.escape || input === 'q') {
      this.sql = null;
      return true;
    }
    if (input === 'j' || key.downArrow) pane.selected = Math.min(pane.result.rows.length - 1, pane.selected + 1);
    else if (input === 'k' || key.upArrow) pane.selected = Math.max(0, pane.selected - 1);
    else if (key.return) {
      const col = pane.result.columns.indexOf('seq');
      const seq = Number(pane.result.rows[pane.selected]?.[col]);
      if (col < 0) this.message = 'this result has no seq column';
      else if (!Number.isInteger(seq) || seq < 1 || seq > this.count) this.message = `seq ${seq} is not an event of this run`;
      else {
        this.sql = null;
        this.jump(seq, 'from the query');
      }
    } else return false;
    return true;
  }

  // --- live runs --------------------------------------------------------------------------------

  /** Read the run again (--follow); the cursor stays at the end when it was there. */
  poll(): boolean {
    const atEnd = this.cursor >= this.count;
    if (!this.source.refresh()) return false;
    this.state.reset();
    if (atEnd) this.moveTo(this.count);
    return true;
  }
}
