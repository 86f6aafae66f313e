-- The dashboard's chart: events received in each of the last 24 hours (the current one
-- included), and how many of them are failed or dead now. Hours with none are absent.
-- Naming every status lets the range on received_at use webhook_events_status_received_idx
-- (one index range per status, read from the index alone) instead of reading the whole table.
SELECT date_trunc('hour', received_at) AS hour,
       count(*) AS events,
       count(*) FILTER (WHERE status IN ('failed', 'dead')) AS failures
FROM webhook_events
WHERE status IN ('pending', 'failed', 'done', 'dead', 'skipped')
  AND received_at >= date_trunc('hour', now()) - interval '23 hours'
GROUP BY 1
ORDER BY 1
