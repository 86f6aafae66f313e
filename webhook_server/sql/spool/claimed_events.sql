SELECT id, fields FROM spooled_events WHERE claimed_by = :claim ORDER BY id
