-- Seconds this server's data is behind its primary: NULL on a primary, 0 on a standby that has
-- replayed all it received (an idle primary sends nothing, so the last replay's age is no lag).
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END::float8
