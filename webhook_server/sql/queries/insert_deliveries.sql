-- One delivery per (destination, event) the fan-out matched; an existing one (a replay made it
-- first) is left as it is.
INSERT INTO webhook_deliveries (destination, event_row, endpoint)
SELECT * FROM unnest(%(destinations)b::text[], %(event_rows)b::bigint[], %(endpoints)b::text[])
ON CONFLICT (destination, event_row) DO NOTHING
