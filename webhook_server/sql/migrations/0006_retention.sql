-- webhook-server: no-transaction
-- Retention and operator lookups on every supported Postgres (13 to 18).
-- Both indexes go onto a populated table: built CONCURRENTLY, so ingest keeps inserting while
-- they build (a plain CREATE INDEX blocks inserts, about 2 s a million rows). A timed-out
-- concurrent build leaves an invalid index behind, so each is dropped first: re-runnable.
-- `events show ID`, `replay ID` and replay's lease check filter on event_id alone: before
-- Postgres 18's skip scan the (provider, event_id) unique index cannot serve that, and each
-- lookup read the whole table.
DROP INDEX CONCURRENTLY IF EXISTS webhook_events_event_id_idx;
CREATE INDEX CONCURRENTLY webhook_events_event_id_idx ON webhook_events (event_id);

-- `stats` counts what finished in the last minute and hour without reading every row: only
-- finished events (done, dead, skipped) have a processed_at, so ingest's inserts add nothing here.
DROP INDEX CONCURRENTLY IF EXISTS webhook_events_processed_at_idx;
CREATE INDEX CONCURRENTLY webhook_events_processed_at_idx
    ON webhook_events (processed_at) WHERE processed_at IS NOT NULL;
