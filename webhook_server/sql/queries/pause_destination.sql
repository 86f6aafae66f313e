-- Pause a destination after sustained failure: no forwarder claims its deliveries until
-- `destinations resume`; fan-out keeps adding them, so nothing is lost meanwhile.
UPDATE webhook_destinations
SET paused_at = now(), paused_reason = %(reason)s
WHERE name = %(name)s AND paused_at IS NULL
RETURNING name
