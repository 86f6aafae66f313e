-- A stopping worker's last statements must fit in the shutdown cap: lower this session's limit.
SELECT set_config('statement_timeout', %(milliseconds)s, false)
