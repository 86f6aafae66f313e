-- Time partitions for the inbox (issue 25): webhook_events and its attempt history become
-- RANGE-partitioned on the arrival time, one partition a UTC day, so that retention drops a
-- whole day (DETACH PARTITION CONCURRENTLY + DROP) instead of deleting rows one by one.
--
-- A unique constraint of a partitioned table must hold its partition key, so "stored once per
-- (provider, event_id)" moves to webhook_event_keys: one narrow row per stored event, unpartitioned,
-- written by the same statement that stores the event (insert_events.sql). A key lives as long as
-- its event: deleted with it (the trigger below) or before its day's partition is dropped.
--
-- This migration only prepares, and it is quick (metadata, no table rewrite): an empty inbox
-- (a new install) is partitioned now; a populated one keeps its table until the operator runs
-- `webhook-server migrate --partition` once every server runs this release (servers of earlier
-- releases insert with ON CONFLICT (provider, event_id), which a partitioned table cannot
-- arbitrate). Until then the queries work on the plain table as before.
CREATE TABLE webhook_event_keys (
    provider text NOT NULL,
    event_id text NOT NULL,
    PRIMARY KEY (provider, event_id)
);

COMMENT ON TABLE webhook_event_keys IS 'one row per stored event: what makes a redelivery a duplicate across partitions';

-- The event's received_at on each attempt: the history is partitioned on it, with the same days.
-- Rows written before this migration (and by workers of earlier releases until the conversion)
-- take -infinity: they stay in the partition that holds everything from before the conversion.
ALTER TABLE webhook_event_attempts ADD COLUMN event_received_at timestamptz NOT NULL DEFAULT '-infinity';

COMMENT ON COLUMN webhook_event_attempts.event_received_at IS 'received_at of the event (its partition); -infinity for attempts recorded before partitioning';

-- Keys of rows inserted by servers of earlier releases (their insert writes none); a key the
-- insert already wrote is skipped. Dropped by the conversion.
CREATE FUNCTION webhook_event_keys_follow_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_event_keys (provider, event_id)
    SELECT provider, event_id FROM inserted
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_events_copy_keys
    AFTER INSERT ON webhook_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_event_keys_follow_inserts();

-- A deleted event takes its history and its key (one DELETE each per statement), so a key never
-- outlives its event. Replaces 0004's function of the same trigger.
CREATE OR REPLACE FUNCTION webhook_event_attempts_follow_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM webhook_event_attempts AS a USING deleted AS d WHERE a.event_row = d.id;
    DELETE FROM webhook_event_keys AS k USING deleted AS d WHERE k.provider = d.provider AND k.event_id = d.event_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION webhook_event_attempts_follow_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE webhook_event_attempts, webhook_event_keys;
    RETURN NULL;
END
$$;

-- Make sure a partition exists for each UTC day from first_day to last_day, events and history
-- alike; returns how many days were added. A day is a new table attached to the parent (ATTACH
-- takes SHARE UPDATE EXCLUSIVE on it, so inserts go on; CREATE TABLE ... PARTITION OF would take
-- ACCESS EXCLUSIVE). A day inside an existing partition's range (the one holding what was stored
-- before the conversion) is skipped. Does nothing before the conversion.
CREATE FUNCTION webhook_ensure_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day date;
    suffix text;
    added integer := 0;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'webhook_events'::regclass) <> 'p' THEN
        RETURN 0;
    END IF;
    FOR day IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
        suffix := to_char(day, '"p"YYYYMMDD');
        CONTINUE WHEN to_regclass('webhook_events_' || suffix) IS NOT NULL;
        BEGIN
            PERFORM webhook_attach_day('webhook_events', suffix, day);
            PERFORM webhook_attach_day('webhook_event_attempts', suffix, day);
            added := added + 1;
        EXCEPTION
            WHEN invalid_object_definition THEN  -- overlaps an existing partition: covered
                NULL;
            WHEN duplicate_table THEN  -- another worker made it meanwhile
                NULL;
        END;
    END LOOP;
    RETURN added;
END
$$;

CREATE FUNCTION webhook_attach_day(parent text, suffix text, day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', parent || '_' || suffix, parent);
    EXECUTE format(
        'ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        parent, parent || '_' || suffix, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC'
    );
END
$$;

-- The conversion of a populated inbox (`webhook-server migrate --partition`, sql/conversion/):
-- every stored event gets its key, in batches that commit as they go (CALLed outside a
-- transaction), so no transaction holds millions of rows. Rows inserted meanwhile have theirs.
CREATE PROCEDURE webhook_backfill_event_keys(batch integer)
LANGUAGE plpgsql AS $$
DECLARE
    after bigint := 0;
    upto bigint;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'webhook_events'::regclass) = 'p' THEN
        RETURN;
    END IF;
    LOOP
        SELECT max(id) INTO upto FROM (SELECT id FROM webhook_events WHERE id > after ORDER BY id LIMIT batch) AS b;
        EXIT WHEN upto IS NULL;
        INSERT INTO webhook_event_keys (provider, event_id)
        SELECT provider, event_id FROM webhook_events WHERE id > after AND id <= upto
        ON CONFLICT DO NOTHING;
        after := upto;
        COMMIT;
    END LOOP;
END
$$;

-- Where the plain table's range will end once it is a partition: its CHECK's bound, NULL when none.
CREATE FUNCTION webhook_legacy_bound() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT substring(pg_get_constraintdef(oid) FROM '''(.*)''')::timestamptz
    FROM pg_constraint
    WHERE conrelid = 'webhook_events'::regclass AND conname = 'webhook_events_before_partitions'
$$;

-- Bound the plain tables below the UTC midnight at least a day ahead (NOT VALID: the conversion
-- validates it next, without blocking inserts). A bound left by an interrupted conversion is
-- kept while more than an hour ahead, else replaced: at the bound, the plain table would start
-- refusing new events.
CREATE PROCEDURE webhook_bound_legacy()
LANGUAGE plpgsql AS $$
DECLARE
    until timestamptz := (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '2 days') AT TIME ZONE 'UTC';
BEGIN
    IF webhook_legacy_bound() > now() + interval '1 hour' THEN
        RETURN;
    END IF;
    ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS webhook_events_before_partitions;
    ALTER TABLE webhook_event_attempts DROP CONSTRAINT IF EXISTS webhook_event_attempts_before_partitions;
    EXECUTE format(
        'ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_before_partitions CHECK (received_at < %L) NOT VALID',
        until
    );
    EXECUTE format(
        'ALTER TABLE webhook_event_attempts ADD CONSTRAINT webhook_event_attempts_before_partitions '
        'CHECK (event_received_at < %L) NOT VALID',
        until
    );
END
$$;

-- The conversion's last step (and a new install's only one): under a short ACCESS EXCLUSIVE lock,
-- the plain tables become the partitioned webhook_events and webhook_event_attempts. A populated
-- table is not copied: it becomes their partition for everything before legacy_until (its CHECK
-- webhook_events_before_partitions, validated beforehand, spares the scan; every index the parent
-- needs was built beforehand, so none is built here); an empty one is dropped. Ids go on from
-- the old sequences. Called with NULL (by this migration), it converts only an empty table.
-- Days get partitions from legacy_until (from today when empty) a week ahead. Every trigger of
-- the old table moves to the new parent (on a partition it would fire only for statements naming
-- the partition): those of 0001-0008, and any a later migration added before the conversion ran
-- (0010's forwarding), all but the key copy, which only bridges the conversion.
CREATE PROCEDURE webhook_partition_inbox(legacy_until timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    empty boolean;
    last_event bigint;
    last_attempt bigint;
    index record;
    moved text[];
    trigger_name name;
    definition text;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'webhook_events'::regclass) = 'p' THEN
        RETURN;
    END IF;
    IF legacy_until IS NULL AND EXISTS (SELECT FROM webhook_events) THEN
        RETURN;  -- populated, and not bounded for a conversion: left to `migrate --partition`
    END IF;
    LOCK TABLE webhook_events, webhook_event_attempts IN ACCESS EXCLUSIVE MODE;
    empty := NOT EXISTS (SELECT FROM webhook_events) AND NOT EXISTS (SELECT FROM webhook_event_attempts);
    IF legacy_until IS NULL AND NOT empty THEN
        RETURN;
    END IF;
    SELECT coalesce(max(id), 0) INTO last_event FROM webhook_events;
    SELECT coalesce(max(id), 0) INTO last_attempt FROM webhook_event_attempts;
    -- Where each identity had got to (a rolled-back insert uses up ids too): is_called is false
    -- on a sequence that never gave one.
    SELECT greatest(last_event, CASE WHEN is_called THEN last_value ELSE 0 END)
    INTO last_event FROM webhook_events_id_seq;
    SELECT greatest(last_attempt, CASE WHEN is_called THEN last_value ELSE 0 END)
    INTO last_attempt FROM webhook_event_attempts_id_seq;
    ALTER TABLE webhook_events RENAME TO webhook_events_legacy;
    ALTER TABLE webhook_event_attempts RENAME TO webhook_event_attempts_legacy;
    SELECT coalesce(array_agg(pg_get_triggerdef(oid) ORDER BY tgname), '{}') INTO moved
    FROM pg_trigger
    WHERE tgrelid = 'webhook_events_legacy'::regclass AND NOT tgisinternal AND tgname <> 'webhook_events_copy_keys';
    ALTER TABLE webhook_events_legacy ALTER COLUMN id DROP IDENTITY;
    ALTER TABLE webhook_event_attempts_legacy ALTER COLUMN id DROP IDENTITY;
    IF empty THEN
        DROP TABLE webhook_events_legacy, webhook_event_attempts_legacy;
    ELSE
        FOR trigger_name IN
            SELECT tgname FROM pg_trigger WHERE tgrelid = 'webhook_events_legacy'::regclass AND NOT tgisinternal
        LOOP
            EXECUTE format('DROP TRIGGER %I ON webhook_events_legacy', trigger_name);
        END LOOP;
        ALTER TABLE webhook_events_legacy DROP CONSTRAINT webhook_events_pkey;
        ALTER TABLE webhook_events_legacy
            ADD CONSTRAINT webhook_events_legacy_pkey PRIMARY KEY USING INDEX webhook_events_partition_key;
        ALTER TABLE webhook_event_attempts_legacy DROP CONSTRAINT webhook_event_attempts_pkey;
        ALTER TABLE webhook_event_attempts_legacy
            ADD CONSTRAINT webhook_event_attempts_legacy_pkey PRIMARY KEY USING INDEX webhook_event_attempts_partition_key;
        -- Free the index names for the parents' (the partition's indexes are attached to them).
        FOR index IN
            SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
            WHERE i.indrelid IN ('webhook_events_legacy'::regclass, 'webhook_event_attempts_legacy'::regclass)
              AND c.relname NOT LIKE '%legacy%'
        LOOP
            EXECUTE format('ALTER INDEX %I RENAME TO %I', index.relname, 'legacy_' || index.relname);
        END LOOP;
    END IF;

    CREATE TABLE webhook_events (
        id                 bigint      GENERATED ALWAYS AS IDENTITY,
        provider           text        NOT NULL,
        event_id           text        NOT NULL,
        event_type         text        NOT NULL,
        payload            jsonb,
        received_at        timestamptz NOT NULL DEFAULT now(),
        status             text        NOT NULL DEFAULT 'pending'
            CONSTRAINT webhook_events_status_check
            CHECK (status IN ('pending', 'done', 'failed', 'dead', 'skipped')),
        attempts           integer     NOT NULL DEFAULT 0,
        next_attempt_at    timestamptz NOT NULL DEFAULT now(),
        last_error         text,
        locked_until       timestamptz,
        locked_by          text,
        processed_at       timestamptz,
        body               bytea,
        attempt_started_at timestamptz,
        endpoint           text,
        headers            jsonb       NOT NULL DEFAULT '{}',
        CONSTRAINT webhook_events_body_or_payload CHECK (body IS NOT NULL OR payload IS NOT NULL),
        CONSTRAINT webhook_events_pkey PRIMARY KEY (id, received_at)
    ) PARTITION BY RANGE (received_at);
    CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE status IN ('pending', 'failed');
    CREATE INDEX webhook_events_status_received_idx ON webhook_events (status, received_at);
    CREATE INDEX webhook_events_event_id_idx ON webhook_events (event_id);
    CREATE INDEX webhook_events_processed_at_idx ON webhook_events (processed_at) WHERE processed_at IS NOT NULL;
    PERFORM setval(pg_get_serial_sequence('webhook_events', 'id'), greatest(last_event, 1), last_event > 0);
    COMMENT ON COLUMN webhook_events.provider IS 'the scheme that verified the event (stripe, github, …; a generic endpoint''s name); the column keeps its pre-0.1.0 name';
    COMMENT ON COLUMN webhook_events.processed_at IS 'when the event reached done, dead or skipped';
    COMMENT ON COLUMN webhook_events.body IS 'the request body exactly as signed (NULL for rows stored before 0003)';
    COMMENT ON COLUMN webhook_events.payload IS 'the body as jsonb; NULL when jsonb cannot hold it (see body)';
    COMMENT ON COLUMN webhook_events.endpoint IS 'route /webhooks/<endpoint> the event came to; NULL before 0005: the provider''s own';
    COMMENT ON COLUMN webhook_events.headers IS 'request headers kept with the event (lowercase names); never credentials';

    CREATE TABLE webhook_event_attempts (
        event_row         bigint      NOT NULL,
        id                bigint      GENERATED ALWAYS AS IDENTITY,
        attempt           integer     NOT NULL,
        worker            text        NOT NULL,
        started_at        timestamptz NOT NULL,
        finished_at       timestamptz NOT NULL,
        outcome           text        NOT NULL
            CONSTRAINT webhook_event_attempts_outcome_check
            CHECK (outcome IN ('done', 'failed', 'timed_out', 'given_back', 'lost', 'replayed')),
        error             text,
        event_received_at timestamptz NOT NULL,
        CONSTRAINT webhook_event_attempts_pkey PRIMARY KEY (event_row, id, event_received_at)
    ) PARTITION BY RANGE (event_received_at);
    PERFORM setval(pg_get_serial_sequence('webhook_event_attempts', 'id'), greatest(last_attempt, 1), last_attempt > 0);
    COMMENT ON COLUMN webhook_event_attempts.event_received_at IS 'received_at of the event (its partition); -infinity for attempts recorded before partitioning';

    IF NOT empty THEN
        EXECUTE format('ALTER TABLE webhook_events ATTACH PARTITION webhook_events_legacy FOR VALUES FROM (MINVALUE) TO (%L)', legacy_until);
        EXECUTE format('ALTER TABLE webhook_event_attempts ATTACH PARTITION webhook_event_attempts_legacy FOR VALUES FROM (MINVALUE) TO (%L)', legacy_until);
    END IF;

    FOREACH definition IN ARRAY moved LOOP
        EXECUTE regexp_replace(definition, ' ON (\S+\.)?webhook_events_legacy ', ' ON webhook_events ');
    END LOOP;

    PERFORM webhook_ensure_partitions(
        CASE WHEN empty THEN (now() AT TIME ZONE 'UTC')::date ELSE (legacy_until AT TIME ZONE 'UTC')::date END,
        (now() AT TIME ZONE 'UTC')::date + 7
    );
END
$$;

CALL webhook_partition_inbox(NULL);
