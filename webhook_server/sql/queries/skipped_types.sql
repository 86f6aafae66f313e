-- `webhook-server stats`: the event types no handler took, most frequent first, and when the
-- last of each arrived. A type here after a deploy often means a worker without the new handler.
-- On a large table only the skipped events received since %(since)s count: a range of
-- webhook_events_status_received_idx, where every skipped event would read much of the table.
SELECT provider AS scheme, event_type, count(*) AS events, max(received_at) AS last_received_at
FROM webhook_events
WHERE status = 'skipped' AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
GROUP BY provider, event_type
ORDER BY events DESC, provider, event_type
LIMIT %(limit)s
