-- The fast path's fallbacks to mmap_lock, by reason, per run (fallbacks_v has each one, by request).
SELECT run, reason, count(*) AS fallbacks, count(DISTINCT request) AS requests
FROM fallbacks_v
GROUP BY run, reason
ORDER BY run, fallbacks DESC;
