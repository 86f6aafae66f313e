-- `webhook-server events list` and the dashboard's event list: the newest events first. Every
-- filter is optional: a NULL parameter matches every row, and a given one becomes a plain
-- condition in the plan (status and received_at then use webhook_events_status_received_idx;
-- no status, webhook_events_received_idx). Pages are keyset pages: the next one starts below
-- the (received_at, id) of the last row shown, so page 1,000 costs what page 1 does.
SELECT id, provider, event_id, event_type, status, attempts, received_at, next_attempt_at, last_error
FROM webhook_events
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(provider)s::text IS NULL OR provider = %(provider)s)
  AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s)
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR received_at < %(until)s)
  AND (%(event_id)s::text IS NULL OR event_id = %(event_id)s)
  AND (%(before_at)s::timestamptz IS NULL OR (received_at, id) < (%(before_at)s, %(before_id)s::bigint))
ORDER BY received_at DESC, id DESC
LIMIT %(limit)s
