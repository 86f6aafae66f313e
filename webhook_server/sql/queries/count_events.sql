-- How many events the dashboard's bulk replay would select: the filters of list_events.sql,
-- restricted to the replayable statuses given, counted before the operator confirms. Every
-- filter replay_events.sql applies is here too, or the count announced is not what is replayed.
SELECT count(*)
FROM webhook_events
WHERE status = ANY(%(statuses)s::text[])
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(scheme)s::text IS NULL OR provider = %(scheme)s)
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
  AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s)
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR received_at < %(until)s)
  AND (%(event_id)s::text IS NULL OR event_id = %(event_id)s)
