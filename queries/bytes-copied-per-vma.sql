-- Bytes each run copied out of each VMA of the target, per request's task: the VMA that covered
-- the copied address in the target mm at the moment of the copy (copies_v). A VMA id freed and
-- created again appears once per range it had.
SELECT run, task, mm, vma, vma_start_hex, vma_end_hex, coalesce(file, '[anon]') AS file,
  count(*) AS copies, sum(len) AS bytes
FROM copies_v
GROUP BY run, task, mm, vma, vma_start_hex, vma_end_hex, file
ORDER BY run, task, bytes DESC, vma;
