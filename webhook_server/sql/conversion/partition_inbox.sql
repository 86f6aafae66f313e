-- webhook-server: no-transaction
-- `webhook-server migrate --partition`: a populated inbox becomes the partitioned one of migration
-- 0009 while servers keep storing events. Run it once every server runs 0.1.0 (see
-- docs/how-to/retention-and-partitions.md). Every step is online and re-runnable; the long ones
-- (the keys, the two index builds, the validations) take no lock that stops an insert, and the
-- last is one short transaction. Nothing is copied: the table becomes the partition of
-- everything received before a UTC midnight a day or two ahead, and new days get their own.
-- Every stored event's key, in batches that commit as they go.
CALL webhook_backfill_event_keys(50000);
-- A partitioned table cannot take a NOT VALID check: 0003's is validated (a read of the table).
ALTER TABLE webhook_events VALIDATE CONSTRAINT webhook_events_body_or_payload;
ALTER TABLE webhook_event_attempts VALIDATE CONSTRAINT webhook_event_attempts_outcome_check;
-- The partitioned tables' primary keys hold the partition key: built beside the old ones.
DROP INDEX CONCURRENTLY IF EXISTS webhook_events_partition_key;
CREATE UNIQUE INDEX CONCURRENTLY webhook_events_partition_key ON webhook_events (id, received_at);
DROP INDEX CONCURRENTLY IF EXISTS webhook_event_attempts_partition_key;
CREATE UNIQUE INDEX CONCURRENTLY webhook_event_attempts_partition_key
    ON webhook_event_attempts (event_row, id, event_received_at);
-- The bound, validated without blocking inserts, so that attaching the table reads none of it.
CALL webhook_bound_legacy();
ALTER TABLE webhook_events VALIDATE CONSTRAINT webhook_events_before_partitions;
ALTER TABLE webhook_event_attempts VALIDATE CONSTRAINT webhook_event_attempts_before_partitions;
-- The swap: a short ACCESS EXCLUSIVE lock, retried like a migration's.
CALL webhook_partition_inbox(webhook_legacy_bound());
