SELECT b.event, b.field, b.value
FROM spooled_bytes AS b JOIN spooled_events AS e ON e.id = b.event
WHERE e.claimed_by = :claim
