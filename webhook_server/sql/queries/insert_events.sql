-- Store a batch of verified events in one statement (one round trip, one commit).
-- An event whose (provider, event_id) is already stored is skipped, not an error: redeliveries
-- are normal, also when the same event reaches two endpoints of one sender (stored once, under
-- the endpoint it reached first). The key table says which are new: its primary key is what
-- makes an event stored once across the day partitions (a partitioned table's own unique key
-- would have to hold the day). A key is inserted first; only the events whose key was new are
-- stored, and RETURNING lists those, so the caller can tell duplicates. A second transaction
-- inserting the same key waits for the first and then skips it, as a unique index would.
-- DISTINCT ON keeps the first of one event repeated within the batch. ON CONFLICT without a
-- target: the table from before the partitioning keeps its own unique index on (provider,
-- event_id), which a key missing during the conversion would otherwise run into.
-- The payload arrives as the body's text: kept as the signed bytes (body) and, when as_jsonb,
-- parsed by Postgres into jsonb (payload), or its document instead when there is one (a form
-- or a JSON array as the JSON object handlers get: schemes/bodies.py, NULL for a JSON object
-- body, so those are sent once); the headers arrive as JSON text. The arrays are sent in binary
-- format (the b placeholders): text-format arrays make psycopg escape every quote of every
-- payload in Python, 5 ms for 32 events against 0.2 ms in binary.
WITH batch AS (
    SELECT DISTINCT ON (provider, event_id) *
    FROM unnest(
        %(schemes)b::text[], %(endpoints)b::text[], %(event_ids)b::text[], %(event_types)b::text[],
        %(payloads)b::text[], %(documents)b::text[], %(headers)b::text[]
    ) WITH ORDINALITY AS batch (provider, endpoint, event_id, event_type, payload, document, headers, place)
    ORDER BY provider, event_id, place
),
new_keys AS (
    INSERT INTO webhook_event_keys (provider, event_id)
    SELECT provider, event_id FROM batch
    ON CONFLICT DO NOTHING
    RETURNING provider, event_id
)
INSERT INTO webhook_events (provider, endpoint, event_id, event_type, body, payload, headers)
SELECT batch.provider, batch.endpoint, batch.event_id, batch.event_type, convert_to(batch.payload, 'UTF8'),
       CASE WHEN %(as_jsonb)s THEN coalesce(batch.document, batch.payload)::jsonb END, batch.headers::jsonb
FROM batch
JOIN new_keys USING (provider, event_id)
ORDER BY batch.place
ON CONFLICT DO NOTHING
RETURNING provider, event_id
