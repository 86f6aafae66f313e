-- Before a detached day is dropped: delete the keys of its events, and their forwarding (the
-- deliveries, their attempts, the fan-out queue: a DROP fires none of the delete triggers that
-- take them with an event), a batch of row ids at a time (the day's primary key gives them in
-- order, the keys' own finds each), each batch its own transaction, so that no statement grows
-- with the day. Returns how many events the batch covered and the last row id, where the next
-- batch starts.
WITH gone AS (
    SELECT provider, event_id, id
    FROM {partition}
    WHERE id > %(after)s
    ORDER BY id
    LIMIT %(batch)s
),
deleted AS (
    DELETE FROM webhook_event_keys AS k
    USING gone
    WHERE k.provider = gone.provider AND k.event_id = gone.event_id
),
gone_deliveries AS (
    DELETE FROM webhook_deliveries AS d
    USING gone
    WHERE d.event_row = gone.id
    RETURNING d.id
),
gone_attempts AS (
    DELETE FROM webhook_delivery_attempts AS a
    USING gone_deliveries
    WHERE a.delivery_id = gone_deliveries.id
),
unqueued AS (
    DELETE FROM webhook_forward_queue AS q
    USING gone
    WHERE q.event_row = gone.id
)
SELECT count(*), coalesce(max(id), %(after)s) FROM gone
