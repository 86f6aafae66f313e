-- Retention (`webhook-server prune`, the worker's pruner): delete one batch of finished events
-- received before a cutoff, in their own short transaction. webhook_events_status_received_idx
-- finds them; SKIP LOCKED passes over a row another transaction is changing (a replay, another
-- pruner) instead of waiting, and a row a replay just made pending no longer matches the status.
-- Rows that belong to an event (its attempt history) go with it, by their own table's rule.
WITH doomed AS (
    SELECT id
    FROM webhook_events
    WHERE status = ANY(%(statuses)s::text[]) AND received_at < %(before)s
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
DELETE FROM webhook_events AS e
USING doomed
WHERE e.id = doomed.id AND e.status = ANY(%(statuses)s::text[])
