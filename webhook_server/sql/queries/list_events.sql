-- `webhook-server events list` and the dashboard's event list: the newest events first, in the
-- order they arrived (the row id; received_at is the same order but has no index of its own, to
-- keep every write of an event cheap). Every filter is optional: a NULL parameter matches every
-- row, and a given one becomes a plain condition in the plan (with a status, the rows may come
-- from webhook_events_status_received_idx). Pages are keyset pages: the next one starts below
-- the row id of the last row shown, so page 1,000 costs what page 1 does.
SELECT id, provider AS scheme, coalesce(endpoint, provider) AS endpoint, event_id, event_type, status, attempts, received_at,
       next_attempt_at, last_error
FROM webhook_events
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(scheme)s::text IS NULL OR provider = %(scheme)s)
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
  AND (%(event_type)s::text IS NULL OR event_type = %(event_type)s)
  AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR received_at < %(until)s)
  AND (%(event_id)s::text IS NULL OR event_id = %(event_id)s)
  AND (%(before)s::bigint IS NULL OR id < %(before)s)
ORDER BY id DESC
LIMIT %(limit)s
