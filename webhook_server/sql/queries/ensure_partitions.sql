-- A partition for every UTC day from today to %(days)s days ahead, events and history (the
-- worker's maintenance, `migrate`, `prune`): inserts never find a day without one. Returns how
-- many days were added; 0 before the conversion (a plain table needs none).
SELECT webhook_ensure_partitions((now() AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date + %(days)s)
