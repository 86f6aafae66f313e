-- The inbox: one row per delivered event, written before the sender gets its 200.
-- (provider, event_id) is unique so that a redelivery is recognised and stored only once.
CREATE TABLE webhook_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider        text        NOT NULL,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    status          text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'failed', 'dead', 'skipped')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    CONSTRAINT webhook_events_provider_event_id_key UNIQUE (provider, event_id)
);

-- What a processing worker scans for: due events that still need work.
CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE status = 'pending';
