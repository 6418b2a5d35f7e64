-- Lock acquisitions per run, task and lock class: rwsems (mmap_lock and others) and spinlocks.
SELECT run, task, class, count(*) AS acquisitions
FROM events_v
WHERE kind IN ('rwsem_acquire', 'spin_lock')
GROUP BY run, task, class
ORDER BY run, acquisitions DESC;
