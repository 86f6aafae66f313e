-- Keep the exact bytes that were signed, for every event: `events show --raw` prints them and
-- handlers get the JSON parsed from them. payload stays the jsonb for queries, and is NULL when
-- Postgres cannot hold the body as jsonb (a \u0000 escape, a lone surrogate): such an event is
-- stored all the same. Rows stored before this migration have no body; their payload is set.
-- Metadata changes only (no table rewrite); NOT VALID skips the scan of existing rows, which
-- all have a payload (it was NOT NULL until now).
ALTER TABLE webhook_events
    ADD COLUMN body bytea,
    ALTER COLUMN payload DROP NOT NULL,
    ADD CONSTRAINT webhook_events_body_or_payload CHECK (body IS NOT NULL OR payload IS NOT NULL) NOT VALID;

COMMENT ON COLUMN webhook_events.body IS 'the request body exactly as signed (NULL for rows stored before 0003)';
COMMENT ON COLUMN webhook_events.payload IS 'the body as jsonb; NULL when jsonb cannot hold it (see body)';
