-- mmap_lock wait ticks per run and task, and how many waits: the same waits the CLI counts.
SELECT run, task, mode, count(*) AS waits, total(ticks) AS ticks, max(ticks) AS longest
FROM lock_waits_v
WHERE class = 'mmap_lock'
GROUP BY run, task, mode
ORDER BY run, ticks DESC;
