-- `webhook-server stats`: the event types no handler took, most frequent first, and when the
-- last of each arrived. A type here after a deploy often means a worker without the new handler.
SELECT provider, event_type, count(*) AS events, max(received_at) AS last_received_at
FROM webhook_events
WHERE status = 'skipped'
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
GROUP BY provider, event_type
ORDER BY events DESC, provider, event_type
LIMIT %(limit)s
