-- `webhook-server stats` on a large table: done and skipped by endpoint in a random sample of
-- the table's pages (SYSTEM sampling reads only those pages), for the caller to scale up.
SELECT coalesce(endpoint, provider) AS endpoint, status, count(*) AS events
FROM webhook_events TABLESAMPLE SYSTEM (%(percent)s::real)
WHERE status IN ('done', 'skipped')
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
GROUP BY 1, status
