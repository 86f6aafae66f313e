-- Give claimed events back at once (the worker is stopping): due now for any other worker, and
-- the attempt the claim counted is not held against the event, since the stop was not its fault.
-- The history keeps it, as given_back, written by this same statement.
WITH released AS (
    UPDATE webhook_events AS e
    SET attempts = e.attempts - 1,
        locked_until = NULL,
        locked_by = NULL,
        next_attempt_at = now()
    FROM unnest(%(ids)b::bigint[], %(received_ats)b::timestamptz[], %(attempts)b::integer[])
        AS released (id, received_at, attempt)
    WHERE e.id = released.id AND e.received_at = released.received_at AND e.attempts = released.attempt AND e.locked_by = %(worker)s
    RETURNING e.id, e.received_at, released.attempt, e.attempt_started_at
)
INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, finished_at, outcome, error)
SELECT id, received_at, attempt, %(worker)s, coalesce(attempt_started_at, now()), now(), 'given_back',
       'the worker was stopping and gave the event back for another worker'
FROM released
