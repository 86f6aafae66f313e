SELECT EXISTS (SELECT 1 FROM spooled_events WHERE claimed_until < :now)
