-- Record the outcomes of many attempts in one statement: delivered, failed (due again at
-- now() + retry_in seconds) or dead, and each attempt in the history. A row only takes the outcome
-- of the claim that is still its own (same forwarder, same attempt): when the lease ran out and
-- another forwarder claimed it, that claim recorded this attempt as lost. Returns the count.
WITH recorded AS (
    UPDATE webhook_deliveries AS d
    SET status = o.status,
        last_error = coalesce(o.error, d.last_error),
        next_attempt_at = CASE
            WHEN o.status = 'failed' THEN now() + make_interval(secs => o.retry_in)
            ELSE d.next_attempt_at
        END,
        finished_at = CASE WHEN o.status = 'failed' THEN NULL ELSE now() END,
        locked_until = NULL,
        locked_by = NULL
    FROM unnest(
        %(ids)b::bigint[], %(attempts)b::integer[], %(statuses)b::text[], %(results)b::text[],
        %(status_codes)b::integer[], %(latencies)b::float8[], %(responses)b::text[], %(errors)b::text[],
        %(retry_in)b::float8[]
    ) AS o (id, attempt, status, result, status_code, latency, response, error, retry_in)
    WHERE d.id = o.id AND d.attempts = o.attempt AND d.locked_by = %(worker)s
    RETURNING d.id, o.attempt, d.attempt_started_at, o.result, o.status_code, o.latency, o.response, o.error
),
history AS (
    INSERT INTO webhook_delivery_attempts
        (delivery_id, attempt, worker, started_at, finished_at, outcome, status_code, latency, response, error)
    SELECT id, attempt, %(worker)s, coalesce(attempt_started_at, now()), now(), result, status_code, latency,
           response, error
    FROM recorded
)
SELECT count(*) FROM recorded
