-- `webhook-server stats`, done and skipped by endpoint, counted exactly: a read of the whole
-- table, so only while the table is small (see stats_sampled for large ones).
SELECT coalesce(endpoint, provider) AS endpoint, status, count(*) AS events
FROM webhook_events
WHERE status IN ('done', 'skipped')
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
GROUP BY 1, status
