-- Send events to a destination again: one event (by its event_id, also one the destination never
-- had: a delivery is created), or every dead delivery of the destination created in a time range.
-- The delivery is due now with its attempts counted from 0; its history keeps what came before
-- and a 'replayed' row (worker = who asked, attempt = how many had run). A delivery whose attempt
-- is running (leased) is left alone. Returns whether the destination is registered (nothing is
-- done for one that is not) and how many were replayed.
WITH registered AS (
    SELECT EXISTS (SELECT FROM webhook_destinations WHERE name = %(destination)s) AS known
),
target AS (
    SELECT id, coalesce(endpoint, provider) AS endpoint FROM webhook_events, registered
    WHERE known AND %(event_id)s::text IS NOT NULL AND event_id = %(event_id)s::text
),
old AS (
    SELECT d.id, d.attempts
    FROM webhook_deliveries AS d
    WHERE d.destination = %(destination)s
      AND (d.locked_until IS NULL OR d.locked_until < now())
      AND CASE
          WHEN %(event_id)s::text IS NOT NULL THEN d.event_row IN (SELECT id FROM target)
          ELSE d.status = 'dead' AND d.created_at >= %(since)s AND d.created_at < %(until)s
      END
    FOR UPDATE
),
reset AS (
    UPDATE webhook_deliveries AS d
    SET status = 'pending', attempts = 0, next_attempt_at = now(), finished_at = NULL, locked_until = NULL,
        locked_by = NULL
    FROM old
    WHERE d.id = old.id
    RETURNING d.id, old.attempts
),
added AS (
    INSERT INTO webhook_deliveries (destination, event_row, endpoint)
    SELECT %(destination)s, target.id, target.endpoint FROM target
    ON CONFLICT (destination, event_row) DO NOTHING
    RETURNING id, 0 AS attempts
),
history AS (
    INSERT INTO webhook_delivery_attempts (delivery_id, attempt, worker, started_at, finished_at, outcome, error)
    SELECT id, attempts, %(who)s, now(), now(), 'replayed', 'replayed by ' || %(who)s
    FROM (SELECT * FROM reset UNION ALL SELECT * FROM added) AS replayed
)
SELECT known, (SELECT count(*) FROM reset) + (SELECT count(*) FROM added), pg_notify('webhook_events', '')
FROM registered
