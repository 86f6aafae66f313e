-- Events Postgres refused (a payload jsonb cannot hold): kept, tried again after :until.
UPDATE spooled_events SET claimed_until = :until WHERE id IN (SELECT value FROM json_each(:ids))
