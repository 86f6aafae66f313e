-- `webhook-server stats`: what finished (done, dead, skipped) in the last minute and hour,
-- through the partial index on processed_at (only finished rows have one).
SELECT count(*) FILTER (WHERE processed_at >= now() - interval '1 minute') AS last_minute,
       count(*) AS last_hour
FROM webhook_events
WHERE processed_at >= now() - interval '1 hour'
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
