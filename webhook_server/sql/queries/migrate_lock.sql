-- Serialise concurrent `webhook-server migrate` runs (several hosts deploying at once): held by
-- the session for the whole run, across the transaction of each migration, until migrate_unlock.
-- Tried, not waited for inside the statement: a run waiting in pg_advisory_lock() would keep a
-- snapshot open, and a CREATE INDEX CONCURRENTLY of the run holding the lock waits for every
-- older snapshot to end: both would wait for ever. The caller polls instead.
SELECT pg_try_advisory_lock(hashtext('webhook_server.migrate'))
