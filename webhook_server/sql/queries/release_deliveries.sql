-- Give claimed deliveries back at once (the forwarder is stopping and had not started them): due
-- now for another forwarder, their attempt not counted. The history keeps them as given_back,
-- written by this same statement.
WITH released AS (
    UPDATE webhook_deliveries AS d
    SET attempts = d.attempts - 1,
        locked_until = NULL,
        locked_by = NULL,
        next_attempt_at = now()
    FROM unnest(%(ids)b::bigint[], %(attempts)b::integer[]) AS released (id, attempt)
    WHERE d.id = released.id AND d.attempts = released.attempt AND d.locked_by = %(worker)s
    RETURNING d.id, released.attempt, d.attempt_started_at
)
INSERT INTO webhook_delivery_attempts (delivery_id, attempt, worker, started_at, finished_at, outcome, error)
SELECT id, attempt, %(worker)s, coalesce(attempt_started_at, now()), now(), 'given_back',
       'the forwarder was stopping and gave the delivery back before sending it'
FROM released
