-- Forwarding verified events to destinations (`webhook-server forward`, WEBHOOK_DESTINATIONS_FILE).
-- webhook_destinations: the names forwarders were started with (registered at their start) and
-- whether each is paused; one truth for every forwarder, `destinations resume` and the dashboard.
CREATE TABLE webhook_destinations (
    name          text        PRIMARY KEY,
    registered_at timestamptz NOT NULL DEFAULT now(),
    paused_at     timestamptz,
    paused_reason text
);

-- Events not yet fanned out to their destinations. A queue rather than a cursor on
-- webhook_events.id: ids are not committed in id order (group commit, the spool's drainer), so a
-- cursor would skip a row committed after a larger one was seen; a queue row is taken exactly
-- once. Filled only while a destination is registered: an installation that never forwards pays
-- one EXISTS per insert statement and stores nothing.
CREATE TABLE webhook_forward_queue (
    event_row bigint PRIMARY KEY
);

CREATE FUNCTION webhook_events_queue_forwarding() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM webhook_destinations) THEN
        INSERT INTO webhook_forward_queue (event_row) SELECT id FROM inserted;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_events_queue_forwarding
    AFTER INSERT ON webhook_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_events_queue_forwarding();

-- One row per event and destination: its state, leased like an event's processing.
-- status: pending (not tried), failed (retried at next_attempt_at), delivered, dead (out of
-- attempts or too old; waits for `destinations replay`), dropped (its transform returned None).
CREATE TABLE webhook_deliveries (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    destination        text        NOT NULL,
    event_row          bigint      NOT NULL,
    endpoint           text        NOT NULL,  -- the event's, for ordered destinations
    status             text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'failed', 'delivered', 'dead', 'dropped')),
    attempts           integer     NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    locked_until       timestamptz,
    locked_by          text,
    attempt_started_at timestamptz,
    finished_at        timestamptz,
    last_error         text,
    CONSTRAINT webhook_deliveries_destination_event_key UNIQUE (destination, event_row)
);

-- What each destination's claim reads: its due deliveries, oldest first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (destination, next_attempt_at)
    WHERE status IN ('pending', 'failed');
-- An ordered destination's claim: is an earlier delivery of the same endpoint still waiting?
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (destination, endpoint, event_row)
    WHERE status IN ('pending', 'failed');
-- `events show` and the deletes that follow an event's.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_row);
-- `destinations replay NAME --dead --since`.
CREATE INDEX webhook_deliveries_dead_idx ON webhook_deliveries (destination, created_at) WHERE status = 'dead';

-- Every attempt to a destination: what it answered (the start of it) or why it failed.
-- outcome: delivered, failed, lost (the forwarder's lease ran out with no outcome: killed),
-- replayed (an operator asked again; worker = who), given_back (a stopping forwarder had not sent it).
CREATE TABLE webhook_delivery_attempts (
    delivery_id bigint           NOT NULL,
    id          bigint           GENERATED ALWAYS AS IDENTITY,
    attempt     integer          NOT NULL,
    worker      text             NOT NULL,
    started_at  timestamptz      NOT NULL,
    finished_at timestamptz      NOT NULL,
    outcome     text             NOT NULL
        CHECK (outcome IN ('delivered', 'failed', 'lost', 'replayed', 'given_back', 'dropped')),
    status_code integer,
    latency     double precision,
    response    text,
    error       text,
    PRIMARY KEY (delivery_id, id)
);

COMMENT ON COLUMN webhook_delivery_attempts.latency IS 'seconds from the first byte sent to the response read (or the failure)';
COMMENT ON COLUMN webhook_delivery_attempts.response IS 'the start of the response body (2 KiB at most), escaped where text cannot hold it';

-- A deleted event takes its deliveries, their history and its queue row with it (retention's
-- deletes included); a TRUNCATE of the events truncates them too.
CREATE FUNCTION webhook_deliveries_follow_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH gone AS (
        DELETE FROM webhook_deliveries AS d USING deleted AS e WHERE d.event_row = e.id RETURNING d.id
    )
    DELETE FROM webhook_delivery_attempts AS a USING gone WHERE a.delivery_id = gone.id;
    DELETE FROM webhook_forward_queue AS q USING deleted AS e WHERE q.event_row = e.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_events_delete_deliveries
    AFTER DELETE ON webhook_events
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_follow_deletes();

CREATE FUNCTION webhook_deliveries_follow_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE webhook_deliveries, webhook_delivery_attempts, webhook_forward_queue;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_events_truncate_deliveries
    AFTER TRUNCATE ON webhook_events
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_follow_truncate();
