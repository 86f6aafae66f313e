-- `webhook-server stats`, done and skipped by provider, counted exactly: a read of the whole
-- table, so only while the table is small (see stats_sampled for large ones).
SELECT provider, status, count(*) AS events
FROM webhook_events
WHERE status IN ('done', 'skipped')
GROUP BY provider, status
