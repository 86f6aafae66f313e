-- A replay starts an event's attempt numbers again at 1, so its history read 1, 2, 3, 1, 2, 3
-- with nothing to say where the replay began, when, or who asked for it. A replay now adds a
-- row of its own to the history: outcome 'replayed', worker = who asked (the operator's
-- user@host, the dashboard, the Django admin's user), attempt = how many had run before it.
-- NOT VALID: every existing row meets the wider check, and validating would read the whole
-- history while this transaction holds the table's lock, with workers waiting to record outcomes.
ALTER TABLE webhook_event_attempts DROP CONSTRAINT webhook_event_attempts_outcome_check;
ALTER TABLE webhook_event_attempts ADD CONSTRAINT webhook_event_attempts_outcome_check
    CHECK (outcome IN ('done', 'failed', 'timed_out', 'given_back', 'lost', 'replayed')) NOT VALID;
