-- Before a detached day is dropped: delete the keys of its events, a batch of row ids at a time
-- (the day's primary key gives them in order, the keys' own finds each), each batch its own
-- transaction, so that no statement grows with the day. Returns how many events the batch
-- covered and the last row id, where the next batch starts.
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
)
SELECT count(*), coalesce(max(id), %(after)s) FROM gone
