-- Processing by `webhook-server worker`.
-- status: pending (not tried yet), failed (tried, retried at next_attempt_at), done,
-- dead (out of attempts, waits for `webhook-server replay`), skipped (no handler registered).
-- A claim is a lease: locked_until is when another worker may take the event over.
ALTER TABLE webhook_events
    ADD COLUMN locked_until timestamptz,
    ADD COLUMN locked_by    text,
    ADD COLUMN processed_at timestamptz;

COMMENT ON COLUMN webhook_events.processed_at IS 'when the event reached done, dead or skipped';

-- Due work is pending or failed; one index serves the claim query of every worker.
DROP INDEX webhook_events_due_idx;
CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE status IN ('pending', 'failed');

-- `events list --status dead` and `stats` without a scan of every event ever received.
CREATE INDEX webhook_events_status_received_idx ON webhook_events (status, received_at);

-- Every insert that stores at least one new event wakes the workers (LISTEN webhook_events),
-- whichever path inserted it: ingest, reconcile or psql. Delivered at commit, once per transaction.
CREATE FUNCTION webhook_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM inserted) THEN
        PERFORM pg_notify('webhook_events', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_events_notify
    AFTER INSERT ON webhook_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_events_notify();
