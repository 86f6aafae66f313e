-- Wake every worker listening on webhook_events (delivered when the transaction commits), as
-- the insert trigger does for new events.
SELECT pg_notify('webhook_events', '')
