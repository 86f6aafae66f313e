-- Keep one event; an event already spooled (a redelivery during the outage) inserts nothing.
INSERT INTO spooled_events (provider, event_id, fields, spooled_at)
VALUES (:scheme, :event_id, :fields, :spooled_at)
ON CONFLICT (provider, event_id) DO NOTHING
