-- `webhook-server replay`: back to pending, attempts from zero, due now. Either the listed
-- event ids or every event in one status (both filters are never NULL together: the command
-- requires one). An event a worker holds a live lease on is left alone: the worker's result
-- would overwrite the replay. last_error is kept, so the reason stays visible until the next
-- attempt replaces it; processed_at is cleared because the event is no longer finished.
UPDATE webhook_events
SET status = 'pending',
    attempts = 0,
    next_attempt_at = now(),
    locked_until = NULL,
    locked_by = NULL,
    processed_at = NULL
WHERE (%(event_ids)s::text[] IS NULL OR event_id = ANY(%(event_ids)s))
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(provider)s::text IS NULL OR provider = %(provider)s)
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
  AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s)
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
  AND (locked_until IS NULL OR locked_until <= now())
RETURNING provider, event_id
