-- How long the longest-waiting due event has waited, in seconds (0 when none is due), for the
-- worker's webhook_worker_oldest_due_seconds. A held event is not due (its next_attempt_at is its
-- lease's end), so this is the backlog no worker has taken yet; one step along the due index.
SELECT coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8
FROM webhook_events
WHERE status IN ('pending', 'failed') AND next_attempt_at <= now()
