-- Take up to a batch of events not yet fanned out, with what the destinations filter on. Runs in
-- a transaction with insert_deliveries: a forwarder killed between the two gives them back.
-- SKIP LOCKED lets several forwarders fan out at once, each its own rows.
WITH batch AS (
    SELECT event_row FROM webhook_forward_queue ORDER BY event_row LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
DELETE FROM webhook_forward_queue AS q
USING batch, webhook_events AS e
WHERE q.event_row = batch.event_row AND e.id = batch.event_row
RETURNING e.id, coalesce(e.endpoint, e.provider), e.event_type
