-- `webhook-server stats`, exact part 1: the events that still need someone (pending, failed) or
-- wait for a replay (dead), by endpoint (the scheme's own route for rows stored before
-- endpoints were recorded), read through webhook_events_status_received_idx: a cost that grows
-- with the backlog, not with the table. Also how long the oldest pending event
-- nobody holds has been due (since it arrived, was replayed, or its lease ran out; a held
-- event's next_attempt_at is the end of its lease).
SELECT coalesce(endpoint, provider) AS endpoint,
       status,
       count(*) AS events,
       now() - min(next_attempt_at) FILTER (
           WHERE status = 'pending' AND (locked_until IS NULL OR locked_until <= now())
       ) AS pending_for
FROM webhook_events
WHERE status IN ('pending', 'failed', 'dead')
  AND (%(endpoint)s::text IS NULL OR coalesce(endpoint, provider) = %(endpoint)s)
GROUP BY 1, status
