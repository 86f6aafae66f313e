-- `webhook-server stats`: one pass over the table for the counts, the oldest event of each
-- status and what finished in the last minute and hour (processed_at is set by the worker when
-- an event reaches done, dead or skipped).
SELECT provider,
       status,
       count(*) AS events,
       now() - min(received_at) AS oldest_age,
       count(*) FILTER (WHERE processed_at >= now() - interval '1 minute') AS processed_last_minute,
       count(*) FILTER (WHERE processed_at >= now() - interval '1 hour') AS processed_last_hour
FROM webhook_events
GROUP BY provider, status
ORDER BY provider, status
