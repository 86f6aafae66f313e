-- Which of the given event ids a worker holds right now (what replay left alone).
SELECT provider AS scheme, event_id, locked_by, locked_until
FROM webhook_events
WHERE event_id = ANY(%(event_ids)s)
  AND (%(scheme)s::text IS NULL OR provider = %(scheme)s)
  AND locked_until > now()
ORDER BY id
