-- What /metrics and `webhook-server stats` show: events waiting, and when the oldest arrived.
SELECT count(*), min(spooled_at) FROM spooled_events
