-- Every attempt of one event, oldest first (attempt numbers start again at 1 after a replay).
SELECT attempt, worker, started_at, finished_at, outcome, error
FROM webhook_event_attempts
WHERE event_row = %(row_id)s
ORDER BY id
