-- Retention and operator lookups on every supported Postgres (13 to 18).
-- Building an index blocks inserts (about 2 s a million rows): on a large inbox, create both
-- with CREATE INDEX CONCURRENTLY first (README, "Running it in production"); IF NOT EXISTS then
-- makes this migration instant.
-- `events show ID`, `replay ID` and replay's lease check filter on event_id alone: before
-- Postgres 18's skip scan the (provider, event_id) unique index cannot serve that, and each
-- lookup read the whole table.
CREATE INDEX IF NOT EXISTS webhook_events_event_id_idx ON webhook_events (event_id);

-- `stats` counts what finished in the last minute and hour without reading every row: only
-- finished events (done, dead, skipped) have a processed_at, so ingest's inserts add nothing here.
CREATE INDEX IF NOT EXISTS webhook_events_processed_at_idx ON webhook_events (processed_at) WHERE processed_at IS NOT NULL;
