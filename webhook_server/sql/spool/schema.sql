-- The local spool (SQLite, one file shared by every process on the host): verified events that
-- Postgres could not commit in time, kept until a drainer has committed them to webhook_events.
-- An event is kept generically, so a field added to IncomingEvent needs no change here: its
-- text, number and list fields as one JSON object in `fields`, each bytes field as a row of
-- spooled_bytes. The scheme and event_id are repeated as columns to recognise a redelivery (the
-- column keeps its first name, provider, so that a spool written before 0.1.0 still drains).
CREATE TABLE IF NOT EXISTS spooled_events (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    spooled_at REAL NOT NULL,                -- unix seconds
    claimed_by TEXT,                         -- the drainer inserting it now: "<pid>/<random>"
    claimed_until REAL NOT NULL DEFAULT 0,   -- unix seconds; afterwards any drainer may take it
    UNIQUE (provider, event_id)
);
CREATE TABLE IF NOT EXISTS spooled_bytes (
    event INTEGER NOT NULL REFERENCES spooled_events (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (event, field)
) WITHOUT ROWID;
