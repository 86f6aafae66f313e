-- Take the oldest events no live claim holds, for one drainer until :until. A drainer killed
-- mid-batch holds its claim until then; the next one inserts those events again, harmlessly
-- (the insert into Postgres is idempotent).
UPDATE spooled_events SET claimed_by = :claim, claimed_until = :until
WHERE id IN (SELECT id FROM spooled_events WHERE claimed_until < :now ORDER BY id LIMIT :limit)
