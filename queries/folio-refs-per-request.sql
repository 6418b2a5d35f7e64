-- Folio references each request took and dropped (folio_get / folio_try_get that succeeded, and
-- folio_put by the request's task between its begin and end): a request that keeps one leaks it.
-- The reference folio_activate takes for the per-CPU lru_activate batch (right after its
-- "folio_activate: queued" folio_flags event) belongs to the batch, not the request: left out.
SELECT q.run, q.request,
  sum(e.kind = 'folio_get' OR (e.kind = 'folio_try_get' AND e.ok = 1)) - sum(e.kind = 'folio_flags') AS taken,
  sum(e.kind = 'folio_put') AS dropped,
  sum(e.kind = 'folio_get' OR (e.kind = 'folio_try_get' AND e.ok = 1)) - sum(e.kind = 'folio_flags') - sum(e.kind = 'folio_put') AS kept
FROM requests_v q
JOIN events_v e ON e.run = q.run AND e.task = q.task AND e.seq BETWEEN q.first_seq AND q.last_seq
WHERE e.kind IN ('folio_get', 'folio_try_get', 'folio_put')
   OR (e.kind = 'folio_flags' AND e.why = 'folio_activate: queued')
GROUP BY q.run, q.request
ORDER BY kept DESC, q.run, q.request;
