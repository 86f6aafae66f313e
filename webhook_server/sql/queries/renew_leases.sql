-- Extend the leases of the events this worker still holds (queued or running), so that a long
-- handler or a long queue never lets another worker take over an event that is being worked on.
-- A worker killed with kill -9 renews nothing, and its events are due again when the lease ends.
-- Each row comes with its received_at, so that only its day's partition is searched.
UPDATE webhook_events AS e
SET locked_until = now() + make_interval(secs => %(lease)s),
    next_attempt_at = now() + make_interval(secs => %(lease)s)
FROM unnest(%(ids)b::bigint[], %(received_ats)b::timestamptz[]) AS held (id, received_at)
WHERE e.id = held.id AND e.received_at = held.received_at AND e.locked_by = %(worker)s
