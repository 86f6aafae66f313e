-- Store a batch of verified events in one statement (one round trip, one commit).
-- A row whose (provider, event_id) is already stored is skipped, not an error: redeliveries
-- are normal. RETURNING lists only the rows inserted now, so the caller can tell duplicates.
-- The payload arrives as the body's text and Postgres parses it into jsonb. The arrays are sent
-- in binary format (the b placeholders): text-format arrays make psycopg escape every quote of
-- every payload in Python, 5 ms for 32 events against 0.2 ms in binary.
INSERT INTO webhook_events (provider, event_id, event_type, payload)
SELECT batch.provider, batch.event_id, batch.event_type, batch.payload::jsonb
FROM unnest(%(providers)b::text[], %(event_ids)b::text[], %(event_types)b::text[], %(payloads)b::text[])
    AS batch (provider, event_id, event_type, payload)
ON CONFLICT (provider, event_id) DO NOTHING
RETURNING provider, event_id
