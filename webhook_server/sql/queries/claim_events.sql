-- Claim up to a batch of due events for one worker, as a lease: locked_until and next_attempt_at
-- both move to the lease's end, so the row leaves the due index until then, and an expired lease
-- (its worker was killed) makes the row due again with no sweeper and no second index.
-- FOR UPDATE SKIP LOCKED lets any number of workers claim at once without waiting on each other.
-- The attempt is counted here, at the claim: a handler that kills its worker (out of memory, a
-- segfault) still uses up attempts and ends dead instead of looping. A row whose attempts are all
-- used up when its lease expires is marked dead here rather than run once more; it comes back
-- with status dead so the worker can log it and skip it.
-- A non-null locked_until on a due row means an expired lease: last_error says so, and the
-- attempt that held it goes into the history as lost, in this same statement.
-- The handler's payload is parsed from the body as signed (rows stored before migration 0003
-- have none: their jsonb's text stands in).
WITH due AS (
    SELECT id, received_at, attempts, locked_by, locked_until, attempt_started_at
    FROM webhook_events
    WHERE status IN ('pending', 'failed') AND next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
lost AS (
    INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, finished_at, outcome,
                                        error)
    SELECT id, received_at, attempts, coalesce(locked_by, '?'), coalesce(attempt_started_at, locked_until), locked_until,
           'lost', webhook_lost_attempt_error(attempts, locked_by)
    FROM due
    WHERE locked_until IS NOT NULL
)
UPDATE webhook_events AS e
SET attempts = CASE WHEN e.attempts < %(max_attempts)s THEN e.attempts + 1 ELSE e.attempts END,
    status = CASE WHEN e.attempts < %(max_attempts)s THEN e.status ELSE 'dead' END,
    processed_at = CASE WHEN e.attempts < %(max_attempts)s THEN NULL ELSE now() END,
    last_error = CASE
        WHEN due.locked_until IS NULL THEN e.last_error
        ELSE webhook_lost_attempt_error(due.attempts, due.locked_by)
    END,
    locked_until = CASE WHEN e.attempts < %(max_attempts)s THEN now() + make_interval(secs => %(lease)s) END,
    locked_by = CASE WHEN e.attempts < %(max_attempts)s THEN %(worker)s END,
    attempt_started_at = CASE WHEN e.attempts < %(max_attempts)s THEN now() END,
    next_attempt_at = CASE
        WHEN e.attempts < %(max_attempts)s THEN now() + make_interval(secs => %(lease)s)
        ELSE e.next_attempt_at
    END
FROM due
WHERE e.id = due.id AND e.received_at = due.received_at
RETURNING e.id, e.provider, e.event_id, e.event_type, coalesce(e.body, convert_to(e.payload::text, 'UTF8')),
    e.attempts, e.received_at, e.status, coalesce(e.endpoint, e.provider) AS endpoint, e.headers
