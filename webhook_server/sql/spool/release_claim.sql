-- The drainer could not insert its batch (Postgres went away): any drainer may take it now.
UPDATE spooled_events SET claimed_by = NULL, claimed_until = 0 WHERE claimed_by = :claim
