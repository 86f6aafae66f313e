-- Record the outcomes of many attempts in one statement: done, skipped, failed (retried at
-- now() + retry_in seconds) or dead; and, in the same statement, each attempt in the history
-- (what the attempt itself came to: done, failed or timed_out; a skipped event ran no handler and
-- has none). The arrays are sent in binary format, like the insert's.
-- A row only takes the outcome of the claim that is still its own: same worker, same attempt.
-- When this worker's lease ran out and another worker claimed the event meanwhile, the outcome
-- is dropped and the other worker's counts (processing is at-least-once); that claim recorded
-- this attempt as lost. Returns how many outcomes were recorded.
-- last_error is kept on success, so a done event still shows what failed before it succeeded.
WITH recorded AS (
    UPDATE webhook_events AS e
    SET status = outcome.status,
        last_error = coalesce(outcome.error, e.last_error),
        next_attempt_at = CASE
            WHEN outcome.status = 'failed' THEN now() + make_interval(secs => outcome.retry_in)
            ELSE e.next_attempt_at
        END,
        processed_at = CASE WHEN outcome.status = 'failed' THEN NULL ELSE now() END,
        locked_until = NULL,
        locked_by = NULL
    FROM unnest(
        %(ids)b::bigint[], %(attempts)b::integer[], %(statuses)b::text[], %(results)b::text[],
        %(errors)b::text[], %(retry_in)b::float8[], %(received_ats)b::timestamptz[]
    ) AS outcome (id, attempt, status, result, error, retry_in, received_at)
    WHERE e.id = outcome.id AND e.received_at = outcome.received_at AND e.attempts = outcome.attempt AND e.locked_by = %(worker)s
    RETURNING e.id, e.received_at, outcome.attempt, e.attempt_started_at, outcome.result, outcome.error
),
history AS (
    INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, finished_at, outcome,
                                        error)
    SELECT id, received_at, attempt, %(worker)s, coalesce(attempt_started_at, now()), now(), result, error
    FROM recorded
    WHERE result IS NOT NULL
)
SELECT count(*) FROM recorded
