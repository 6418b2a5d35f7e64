-- Every request of every run: what it read, what it returned, and how many events it took.
SELECT run, request, op, printf('0x%x', addr) AS addr, len, result, data_hash, last_seq - first_seq + 1 AS events
FROM requests_v
ORDER BY run, first_seq;
