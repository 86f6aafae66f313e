-- `webhook-server events show ID`: ID is the provider's event id, or the row id when it is a
-- number; more than one row means the caller must say which provider. The dashboard's event page
-- passes a NULL event id: the row id alone. body is the request body as signed (NULL for rows
-- stored before migration 0003), payload its jsonb (NULL if jsonb cannot hold it).
SELECT id, provider, coalesce(endpoint, provider) AS endpoint, event_id, event_type, status, attempts, received_at,
       next_attempt_at, last_error, locked_until, locked_by, processed_at, headers, payload, body
FROM webhook_events
WHERE (event_id = %(event_id)s OR id = %(row_id)s)
  AND (%(provider)s::text IS NULL OR provider = %(provider)s)
ORDER BY id
LIMIT 10
