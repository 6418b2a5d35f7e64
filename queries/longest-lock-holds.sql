-- The longest rwsem holds: each acquisition, until the same task's next release of that lock.
SELECT run, task, class, mode, acquired_seq, held_ticks
FROM (
  SELECT run, task, class, mode_name AS mode, kind, seq AS acquired_seq,
    min(CASE WHEN kind = 'rwsem_release' THEN tick END)
      OVER (PARTITION BY run, tid, sem ORDER BY seq ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) - tick AS held_ticks
  FROM events_v
  WHERE kind IN ('rwsem_acquire', 'rwsem_release')
)
WHERE kind = 'rwsem_acquire' AND held_ticks IS NOT NULL
ORDER BY held_ticks DESC
LIMIT 20;
