-- `webhook-server events show ID`: ID is the sender's event id, or the row id when it is a
-- number; more than one row means the caller must say which scheme. The dashboard's event page
-- passes a NULL event id: the row id alone. body is the request body as signed (NULL for rows
-- stored before migration 0003), payload its jsonb (NULL if jsonb cannot hold it).
SELECT id, provider AS scheme, coalesce(endpoint, provider) AS endpoint, event_id, event_type, status, attempts, received_at,
       next_attempt_at, last_error, locked_until, locked_by, processed_at, headers, payload, body
FROM webhook_events
WHERE (event_id = %(event_id)s OR id = %(row_id)s)
  AND (%(scheme)s::text IS NULL OR provider = %(scheme)s)
ORDER BY id
LIMIT 10
