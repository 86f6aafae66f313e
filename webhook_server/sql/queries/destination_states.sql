-- Every registered destination: paused or not (and why), how long its oldest due delivery has
-- waited (0 when none is due: a held one is not due), and how many are dead.
SELECT p.name, p.paused_at, p.paused_reason,
    coalesce((
        SELECT extract(epoch FROM now() - min(d.next_attempt_at))
        FROM webhook_deliveries AS d
        WHERE d.destination = p.name AND d.status IN ('pending', 'failed') AND d.next_attempt_at <= now()
    ), 0)::float8 AS oldest_due,
    (SELECT count(*) FROM webhook_deliveries AS d WHERE d.destination = p.name AND d.status = 'dead') AS dead
FROM webhook_destinations AS p
ORDER BY p.name
