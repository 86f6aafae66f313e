-- The deliveries of one stored event (by row id) to each destination, and every attempt of each,
-- oldest first; a delivery not tried yet has one row with the attempt columns NULL.
SELECT d.destination, d.status AS delivery_status, a.attempt, a.started_at, a.outcome, a.status_code, a.latency,
       coalesce(a.error, a.response) AS detail
FROM webhook_deliveries AS d
LEFT JOIN webhook_delivery_attempts AS a ON a.delivery_id = d.id
WHERE d.event_row = %(event_row)s
ORDER BY d.destination, a.id
