-- The fast path's fallbacks to mmap_lock, by reason, per run.
SELECT run, reason, count(*) AS fallbacks
FROM events_v
WHERE kind = 'fast_path_fallback'
GROUP BY run, reason
ORDER BY run, fallbacks DESC;
