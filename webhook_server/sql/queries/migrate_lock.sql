-- Serialise concurrent `webhook-server migrate` runs (several hosts deploying at once):
-- the lock is held until the migrating transaction ends.
SELECT pg_advisory_xact_lock(hashtext('webhook_server.migrate'))
