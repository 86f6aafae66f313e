-- Whether a table is a partition of the inbox now: no row when it is not (detached, or gone),
-- else whether a DETACH ... CONCURRENTLY of it was cut short.
SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass(%(name)s)
