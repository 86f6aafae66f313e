-- How long a migration's statement may wait for a lock. Traffic that needs the same table queues
-- behind a waiting ALTER or CREATE INDEX, so the wait is short and retried rather than long.
-- Retention sets it around a detach too. milliseconds: a number, or a value with its unit (2s).
-- is_local: true lasts until the end of the transaction, false for the session.
SELECT set_config('lock_timeout', %(milliseconds)s, %(is_local)s)
