/**
 * The replay model: the whole emulated state in plain data. Projection folds recorded events into
 * a Model (fold.ts), re-execution reads one off the live kernel (live.ts), snapshots are a Model
 * encoded (snapshot.ts), and `toDoc()` (doc.ts) turns it into the StateDoc both engines print, so
 * equal models print equal documents.
 *
 * The rule that makes this work lives in the kernel model: every step changes only what its event
 * says (docs/events.md says what each kind changes).
 */
import type { PageBytes } from '../trace/page-bytes.js';
import { RequestLog } from '../trace/request-log.js';
import type { EventOf, KindName } from '../trace/vocab/index.js';
import type {
  FolioState, MmState, RwsemState, SpinState, SwapSlotState, TaskRunState, VmaState,
} from './state.js';

// The model's records that are exactly what the document shows.
export type MMm = MmState;
export type MVma = VmaState;
export type MRwsem = RwsemState;
export type MSpin = SpinState;

export interface MTask {
  tid: number;
  name: string;
  state: Exclude<TaskRunState, 'running'>;
  on: number;
  wait: string;
  since: number;
  killable: boolean;
  wakeAt: number;
  stack: string[];
  request: string | null;
  waitTicks: number;
  rcuNesting: number;
  irqsOff: number;
}

export interface MTable {
  table: number;
  level: number;
  base: number;
  /** index -> entry value (non-zero only) */
  entries: Map<number, number>;
  pendingFree: boolean;
}

/** A folio as the document shows it, with its bytes (allocated page by page as written) instead of their hash. */
export type MFolio = Omit<FolioState, 'dataHash'> & { data: PageBytes };

/** A swap slot in use, with the bytes the device holds for it instead of their hash. */
export type MSwapSlot = Omit<SwapSlotState, 'dataHash'> & { data: Uint8Array };

export interface MFile {
  name: string;
  data: Uint8Array;
}

/** Everything the state at one event consists of. */
export interface Model {
  seq: number;
  tick: number;
  /** The task that made the last event (0: the simulator). */
  lastTid: number;
  tasks: Map<number, MTask>;
  mms: Map<number, MMm>;
  vmas: Map<number, MVma>;
  tables: Map<number, MTable>;
  folios: Map<number, MFolio>;
  /** The swap device's slots in use, by offset. */
  swap: Map<number, MSwapSlot>;
  rwsems: Map<number, MRwsem>;
  spins: Map<number, MSpin>;
  files: Map<string, MFile>;
  rcu: { gpSeq: number; gpWaitingFor: number[]; pending: number[]; inGracePeriod: number[] };
  requests: RequestLog;
  checks: { warnings: number; useAfterFree: number; kernelFaults: number; deadlock: boolean };
}

export function emptyModel(): Model {
  return {
    seq: 0, tick: 0, lastTid: 0, tasks: new Map(), mms: new Map(), vmas: new Map(), tables: new Map(),
    folios: new Map(), swap: new Map(), rwsems: new Map(), spins: new Map(), files: new Map(),
    rcu: { gpSeq: 0, gpWaitingFor: [], pending: [], inGracePeriod: [] },
    requests: new RequestLog(), checks: { warnings: 0, useAfterFree: 0, kernelFaults: 0, deadlock: false },
  };
}

/** What the fold needs besides the events: the run's task names (a task_start names the thread). */
export interface RunContext {
  taskNames: ReadonlyMap<number, string>;
}

/** How one kind changes the model: a decoded event of that kind in, the model updated in place. */
export type FoldFn<N extends KindName> = (m: Model, e: EventOf<N>, ctx: RunContext) => void;

/** One family's folds, by kind; a kind without one changes nothing the model holds. */
export type Folds = { readonly [N in KindName]?: FoldFn<N> };
