-- Forget a destination no forwarder sends to any more: its row, its deliveries and their history.
-- Once no destination is left, ingest stops queueing events for fan-out. Returns the count of
-- destinations removed (0 or 1) and of deliveries deleted with it.
WITH gone AS (
    DELETE FROM webhook_destinations WHERE name = %(name)s RETURNING name
),
deliveries AS (
    DELETE FROM webhook_deliveries AS d USING gone WHERE d.destination = gone.name RETURNING d.id
),
attempts AS (
    DELETE FROM webhook_delivery_attempts AS a USING deliveries WHERE a.delivery_id = deliveries.id
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM deliveries)
