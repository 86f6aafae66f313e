-- `webhook-server events list`: the newest events first. Every filter is optional: a NULL
-- parameter matches every row, and a given one becomes a plain condition in the plan
-- (status and received_at then use webhook_events_status_received_idx).
SELECT id, provider, coalesce(endpoint, provider) AS endpoint, event_id, event_type, status, attempts, received_at,
       next_attempt_at, last_error
FROM webhook_events
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(provider)s::text IS NULL OR provider = %(provider)s)
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
  AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s)
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
ORDER BY received_at DESC, id DESC
LIMIT %(limit)s
