-- `webhook-server stats` on a large table: done and skipped by provider in a random sample of
-- the table's pages (SYSTEM sampling reads only those pages), for the caller to scale up.
SELECT provider, status, count(*) AS events
FROM webhook_events TABLESAMPLE SYSTEM (%(percent)s::real)
WHERE status IN ('done', 'skipped')
GROUP BY provider, status
