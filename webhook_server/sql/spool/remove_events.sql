-- After their commit to Postgres; their spooled_bytes rows go too (ON DELETE CASCADE).
DELETE FROM spooled_events WHERE id IN (SELECT value FROM json_each(:ids))
