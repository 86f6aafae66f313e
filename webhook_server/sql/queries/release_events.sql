-- Give claimed events back at once (the worker is stopping): due now for any other worker, and
-- the attempt the claim counted is not held against the event, since the stop was not its fault.
UPDATE webhook_events AS e
SET attempts = e.attempts - 1,
    locked_until = NULL,
    locked_by = NULL,
    next_attempt_at = now()
FROM unnest(%(ids)b::bigint[], %(attempts)b::integer[]) AS released (id, attempt)
WHERE e.id = released.id AND e.attempts = released.attempt AND e.locked_by = %(worker)s
