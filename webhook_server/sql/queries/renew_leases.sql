-- Extend the leases of the events this worker still holds (queued or running), so that a long
-- handler or a long queue never lets another worker take over an event that is being worked on.
-- A worker killed with kill -9 renews nothing, and its events are due again when the lease ends.
UPDATE webhook_events
SET locked_until = now() + make_interval(secs => %(lease)s),
    next_attempt_at = now() + make_interval(secs => %(lease)s)
WHERE id = ANY(%(ids)b::bigint[]) AND locked_by = %(worker)s
