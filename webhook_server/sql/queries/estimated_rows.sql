-- The planner's own estimate of the table's rows, free of any scan: the density measured by the
-- last VACUUM or ANALYZE (autovacuum's) times the table's current size in pages, summed over its
-- partitions (a partitioned table has no pages of its own). 0 when never analyzed.
SELECT coalesce(sum(
           CASE WHEN c.relpages > 0 AND c.reltuples > 0
                THEN c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::int)
                ELSE 0 END
       ), 0)
FROM pg_class AS c
WHERE c.oid = 'webhook_events'::regclass
   OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'webhook_events'::regclass)
