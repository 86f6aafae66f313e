-- Serialise concurrent `webhook-server migrate` runs (several hosts deploying at once): held by
-- the session for the whole run, across the transaction of each migration, until migrate_unlock.
SELECT pg_advisory_lock(hashtext('webhook_server.migrate'))
