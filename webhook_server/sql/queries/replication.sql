-- Whether a failover can lose a commit this server acknowledged, as this session sees it: is it
-- a standby (it refuses writes), which standbys must confirm a commit (synchronous_standby_names),
-- how many stream from it, how many of them are synchronous now. A role without pg_monitor
-- (pg_read_all_stats) sees the standbys' rows but not their sync_state: those are counted apart.
SELECT
    pg_is_in_recovery() AS standby,
    current_setting('synchronous_standby_names') AS synchronous_standby_names,
    (SELECT count(*) FROM pg_stat_replication) AS streaming,
    (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')) AS synchronous,
    (SELECT count(*) FROM pg_stat_replication WHERE sync_state IS NULL) AS hidden
