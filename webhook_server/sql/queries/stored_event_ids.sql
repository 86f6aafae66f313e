-- Which of these event ids one scheme has stored (`reconcile github`: the guids not to redeliver).
SELECT event_id
FROM webhook_events
WHERE provider = %(scheme)s AND event_id = ANY(%(event_ids)s::text[])
