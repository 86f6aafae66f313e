-- The planner's own estimate of the table's rows, free of any scan: the density measured by the
-- last VACUUM or ANALYZE (autovacuum's) times the table's current size in pages. 0 when the
-- table was never analyzed.
SELECT CASE WHEN c.relpages > 0 AND c.reltuples > 0
            THEN c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::int)
            ELSE 0 END
FROM pg_class AS c
WHERE c.oid = 'webhook_events'::regclass
