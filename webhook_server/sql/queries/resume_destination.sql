-- Resume a destination: claims take it again, and every delivery waiting for a retry is due now
-- (the backlog goes out at once, within the destination's concurrency). Wakes the forwarders.
-- Returns the destination's name and how many deliveries were made due; no row: no such name.
WITH resumed AS (
    UPDATE webhook_destinations
    SET paused_at = NULL, paused_reason = NULL
    WHERE name = %(name)s
    RETURNING name
),
due AS (
    UPDATE webhook_deliveries AS d
    SET next_attempt_at = now()
    FROM resumed
    WHERE d.destination = resumed.name AND d.status IN ('pending', 'failed') AND d.locked_until IS NULL
    RETURNING d.id
)
SELECT resumed.name, (SELECT count(*) FROM due), pg_notify('webhook_events', '') FROM resumed
