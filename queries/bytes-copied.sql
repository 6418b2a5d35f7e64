-- Bytes the kernel copied out of the target's folios, per run and task.
SELECT run, task, count(*) AS copies, sum(len) AS bytes
FROM events_v
WHERE kind = 'copy'
GROUP BY run, task
ORDER BY run, bytes DESC;
