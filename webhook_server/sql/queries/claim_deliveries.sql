-- Claim due deliveries for one forwarder, each destination up to its own limit (its free
-- concurrency), as leases: locked_until and next_attempt_at move to the lease's end, so a
-- forwarder killed mid-attempt leaves the delivery due again then, recorded as lost here.
-- A paused destination claims nothing. An ordered one claims only deliveries with no earlier
-- (by event row) delivery of the same endpoint still pending or failed, leased ones included: each
-- endpoint's events go out one at a time, in order, across retries. The attempt is counted at the claim.
WITH wanted AS (
    SELECT w.name, w.lim, w.lease, w.ordered
    FROM unnest(%(destinations)b::text[], %(limits)b::integer[], %(leases)b::float8[], %(ordered)b::boolean[])
        AS w (name, lim, lease, ordered)
    WHERE NOT EXISTS (
        SELECT FROM webhook_destinations AS p WHERE p.name = w.name AND p.paused_at IS NOT NULL
    )
),
due AS (
    SELECT d.id, d.attempts, d.locked_by, d.locked_until, d.attempt_started_at, wanted.lease
    FROM wanted, LATERAL (
        SELECT id, attempts, locked_by, locked_until, attempt_started_at
        FROM webhook_deliveries AS later
        WHERE destination = wanted.name AND status IN ('pending', 'failed') AND next_attempt_at <= now()
          AND NOT (wanted.ordered AND EXISTS (
              SELECT FROM webhook_deliveries AS earlier
              WHERE earlier.destination = wanted.name AND earlier.endpoint = later.endpoint
                AND earlier.event_row < later.event_row AND earlier.status IN ('pending', 'failed')
          ))
        ORDER BY next_attempt_at
        LIMIT wanted.lim
        FOR UPDATE SKIP LOCKED
    ) AS d
),
lost AS (
    INSERT INTO webhook_delivery_attempts (delivery_id, attempt, worker, started_at, finished_at, outcome, error)
    SELECT id, attempts, coalesce(locked_by, '?'), coalesce(attempt_started_at, locked_until), locked_until, 'lost',
           webhook_lost_attempt_error(attempts, locked_by)
    FROM due
    WHERE locked_until IS NOT NULL
)
UPDATE webhook_deliveries AS d
SET attempts = d.attempts + 1,
    locked_until = now() + make_interval(secs => due.lease),
    locked_by = %(worker)s,
    attempt_started_at = now(),
    next_attempt_at = now() + make_interval(secs => due.lease),
    last_error = CASE
        WHEN due.locked_until IS NULL THEN d.last_error
        ELSE webhook_lost_attempt_error(due.attempts, due.locked_by)
    END
FROM due, webhook_events AS e
WHERE d.id = due.id AND e.id = d.event_row
RETURNING d.id, d.destination, d.attempts, extract(epoch FROM now() - d.created_at)::float8,
    e.provider, e.event_id, e.event_type, coalesce(e.endpoint, e.provider), coalesce(e.body, convert_to(e.payload::text, 'UTF8')),
    e.headers
