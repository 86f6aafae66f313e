-- `webhook-server stats`: one pass over the table (or one endpoint's rows) for the counts by
-- endpoint (the provider's own route for rows stored before endpoints were recorded), how long the oldest pending
-- event nobody holds has been due (since it arrived, was replayed, or its lease ran out; a held
-- event's next_attempt_at is the end of its lease), and what finished in the last
-- minute and hour (processed_at is set by the worker when an event reaches done, dead or skipped).
SELECT coalesce(endpoint, provider) AS endpoint,
       status,
       count(*) AS events,
       now() - min(next_attempt_at) FILTER (
           WHERE status = 'pending' AND (locked_until IS NULL OR locked_until <= now())
       ) AS pending_for,
       count(*) FILTER (WHERE processed_at >= now() - interval '1 minute') AS processed_last_minute,
       count(*) FILTER (WHERE processed_at >= now() - interval '1 hour') AS processed_last_hour
FROM webhook_events
WHERE %(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s
GROUP BY 1, status
ORDER BY 1, status
