-- `webhook-server replay` and the dashboard: back to pending, attempts from zero, due now. Either
-- the listed event ids (or row ids) or every event matching the filters (never all events: the
-- callers require ids or a status). An event a worker holds a live lease on is left alone: the
-- worker's result would overwrite the replay. last_error is kept, so the reason stays visible
-- until the next attempt replaces it; processed_at is cleared because the event is no longer
-- finished. The history is kept: the next attempts add to it, after a 'replayed' row that says
-- who replayed it and when (the attempt numbers start again at 1). A lease found run out here
-- is recorded as lost before it, as a claim would have (this statement clears it).
WITH chosen AS (
    SELECT id, received_at, attempts, locked_by, locked_until, attempt_started_at
    FROM webhook_events
    WHERE (%(event_ids)s::text[] IS NULL OR event_id = ANY(%(event_ids)s))
      AND (%(row_ids)s::bigint[] IS NULL OR id = ANY(%(row_ids)s))
      AND (%(status)s::text IS NULL OR status = %(status)s)
      AND (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s))
      AND (%(scheme)s::text IS NULL OR provider = %(scheme)s)
      AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
      AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s)
      AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
      AND (%(until)s::timestamptz IS NULL OR received_at < %(until)s)
      AND (%(event_id)s::text IS NULL OR event_id = %(event_id)s)
      AND (locked_until IS NULL OR locked_until <= now())
    FOR UPDATE
),
history AS (
    -- One INSERT, in this order: data-modifying CTEs run in no defined order among themselves.
    INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, finished_at, outcome,
                                        error)
    SELECT event_row, event_received_at, attempt, worker, started_at, finished_at, outcome, error
    FROM (
        SELECT id, received_at, attempts, coalesce(locked_by, '?'), coalesce(attempt_started_at, locked_until),
               locked_until, 'lost', webhook_lost_attempt_error(attempts, locked_by), 1
        FROM chosen
        WHERE locked_until IS NOT NULL
        UNION ALL
        SELECT id, received_at, attempts, %(replayed_by)s, now(), now(), 'replayed', NULL, 2
        FROM chosen
    ) AS marks (event_row, event_received_at, attempt, worker, started_at, finished_at, outcome, error, place)
    ORDER BY event_row, place
)
UPDATE webhook_events AS e
SET status = 'pending',
    attempts = 0,
    next_attempt_at = now(),
    locked_until = NULL,
    locked_by = NULL,
    processed_at = NULL
FROM chosen
WHERE e.id = chosen.id AND e.received_at = chosen.received_at
RETURNING e.provider, e.event_id
