-- What makes a commit durable, as this session sees it: its synchronous_commit (pinned by the
-- connection's options, or by the role's setting behind a transaction pooler) and the server's fsync.
SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync')
