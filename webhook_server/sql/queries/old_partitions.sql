-- Retention: the days of webhook_events whose whole range ends at or before a cutoff, oldest
-- first (but one whose detach was cut short before all: a table takes one pending detach at a
-- time, so it must be finished before any other can start): the partitions (the one from before the conversion included) and the day tables an
-- interrupted retention detached but did not drop. Each with the bound that attaches it back
-- (Postgres' own text for a partition; made from the name for a detached day), whether a
-- DETACH ... CONCURRENTLY of it was cut short (it then needs FINALIZE), and whether attached.
WITH days AS (
    SELECT c.relname AS name,
           coalesce(
               pg_get_expr(c.relpartbound, c.oid),
               format('FOR VALUES FROM (%%L) TO (%%L)', named.day::timestamp AT TIME ZONE 'UTC',
                      (named.day + 1)::timestamp AT TIME ZONE 'UTC')
           ) AS bound,
           coalesce(i.inhdetachpending, false) AS detach_pending,
           i.inhrelid IS NOT NULL AS attached
    FROM pg_class AS c
    LEFT JOIN pg_inherits AS i ON i.inhrelid = c.oid
    CROSS JOIN LATERAL (
        SELECT to_date(substring(c.relname FROM '^webhook_events_p([0-9]{8})$'), 'YYYYMMDD') AS day
    ) AS named
    WHERE c.relkind = 'r'
      AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'webhook_events'::regclass)
      AND (i.inhparent = 'webhook_events'::regclass OR (i.inhrelid IS NULL AND named.day IS NOT NULL))
)
SELECT name, bound, detach_pending, attached
FROM days
CROSS JOIN LATERAL (SELECT substring(bound FROM 'TO \(''([^'']+)''\)')::timestamptz AS upper_bound) AS b
WHERE b.upper_bound <= %(before)s
ORDER BY detach_pending DESC, b.upper_bound
