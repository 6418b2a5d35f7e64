/** Requests: the request log, and the request each task has in flight. */
import { requestId } from '../../trace/request-log.js';
import type { Folds } from '../model-types.js';

export const requestFolds: Folds = {
  request_begin(m, e) {
    m.requests.begin(e.tid, e.req, e.op, e.addr, e.len);
    const task = m.tasks.get(e.tid);
    if (task) task.request = requestId(task.name, e.req);
  },
  request_end(m, e) {
    m.requests.end(e.tid, e.req, e.result, e.hash);
    const task = m.tasks.get(e.tid);
    if (task) task.request = null;
  },
};
