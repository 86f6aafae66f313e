-- A forwarder's destinations, registered at its start (existing ones keep their pause state).
-- From the first registration on, every stored event is queued for fan-out.
INSERT INTO webhook_destinations (name)
SELECT unnest(%(names)s::text[])
ON CONFLICT (name) DO NOTHING
