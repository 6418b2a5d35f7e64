/**
 * The state document of a model: what `replay` prints, the same from either engine. Lists are
 * sorted by id and idle locks left out, so equal states print equal documents.
 */
import { bytesHash, hashHex } from '../trace/hash.js';
import { requestId } from '../trace/request-log.js';
import type { Model } from './model-types.js';
import type { FolioState, StateDoc, TaskRunState } from './state.js';

const byKey = <T>(key: (x: T) => number) => (x: T, y: T) => key(x) - key(y);

/**
 * Which requests a document lists. By default every request so far; with `doneRequests`, every
 * request in flight and the last `doneRequests` that ended (a run of 100M events has done a
 * quarter of a million requests, and a reader at a breakpoint wants the ones around it).
 */
export interface DocOptions {
  doneRequests?: number;
}

/** How many of the requests that ended `replay` lists unless told (its --requests). */
export const DONE_REQUESTS_LISTED = 20;

/** The indexes into the request log of the requests a document lists, in log order. */
function listedRequests(log: Model['requests'], doneRequests = Infinity): number[] {
  const listed: number[] = [];
  let done = 0;
  for (let i = log.length - 1; i >= 0; i--) {
    const inFlight = log.resultAt(i) === null;
    if (inFlight || done++ < doneRequests) listed.push(i);
  }
  return listed.reverse();
}

/** The document both engines print. */
export function toDoc(m: Model, opts: DocOptions = {}): StateDoc {
  const tasks = [...m.tasks.values()].sort(byKey((t) => t.tid)).map((t) => ({
    tid: t.tid,
    name: t.name,
    state: (t.tid === m.lastTid && t.state === 'runnable' ? 'running' : t.state) as TaskRunState,
    blockedOn: t.state === 'blocked' ? { on: t.on, wait: t.wait, since: t.since, killable: t.killable } : null,
    wakeAt: t.state === 'sleeping' ? t.wakeAt : null,
    stack: [...t.stack],
    request: t.request,
    waitTicks: t.waitTicks,
    rcuNesting: t.rcuNesting,
    irqsOff: t.irqsOff,
  }));
  const folios: FolioState[] = [...m.folios.values()].sort(byKey((f) => f.folio)).map((f) => ({
    folio: f.folio, pfn: f.pfn, order: f.order, refcount: f.refcount, mapcount: f.mapcount, flags: f.flags,
    lru: f.lru, file: f.file, index: f.index, dataHash: hashHex(f.data.hash()),
  }));
  return {
    seq: m.seq,
    tick: m.tick,
    tasks,
    mms: [...m.mms.values()].sort(byKey((x) => x.mm)).map((x) => ({ ...x })),
    vmas: [...m.vmas.values()].sort(byKey((v) => v.vma)).map((v) => ({ ...v })),
    tables: [...m.tables.values()].sort(byKey((t) => t.table)).map((t) => ({
      table: t.table, level: t.level, base: t.base, pendingFree: t.pendingFree,
      entries: [...t.entries.entries()].sort((x, y) => x[0] - y[0]),
    })),
    folios,
    swap: [...m.swap.values()].sort(byKey((x) => x.offset)).map((x) => ({
      offset: x.offset, count: x.count, cache: x.cache, folio: x.folio, dataHash: hashHex(bytesHash(x.data)),
    })),
    locks: {
      rwsems: [...m.rwsems.values()]
        .filter((s) => s.writer !== null || s.readers.length > 0 || s.waiters.length > 0 || s.handoff)
        .sort(byKey((s) => s.sem))
        .map((s) => ({ ...s, readers: [...s.readers].sort((x, y) => x - y), waiters: s.waiters.map((w) => ({ ...w })) })),
      spinlocks: [...m.spins.values()]
        .filter((s) => s.owner !== null || s.waiters.length > 0)
        .sort(byKey((s) => s.lock))
        .map((s) => ({ ...s, waiters: [...s.waiters] })),
    },
    rcu: {
      gpSeq: m.rcu.gpSeq,
      gpWaitingFor: [...m.rcu.gpWaitingFor].sort((x, y) => x - y),
      pending: [...m.rcu.pending],
      inGracePeriod: [...m.rcu.inGracePeriod],
    },
    requests: listedRequests(m.requests, opts.doneRequests).map((i) => {
      const r = m.requests.at(i);
      const task = m.tasks.get(r.tid)?.name ?? String(r.tid);
      return {
        id: requestId(task, r.req), task, op: r.op, addr: r.addr, len: r.len, result: r.result,
        dataHash: r.hash === null ? null : hashHex(r.hash),
      };
    }),
    checks: { ...m.checks },
  };
}
