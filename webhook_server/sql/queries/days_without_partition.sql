-- `webhook-server check`: which of now and this time tomorrow no partition of webhook_events
-- would hold (an event arriving then is refused); none before the conversion to partitions.
-- The bounds are read back as Postgres prints them (MINVALUE, or a timestamptz literal).
SELECT moment
FROM generate_series(now(), now() + interval '1 day', interval '1 day') AS moment
WHERE (SELECT relkind FROM pg_class WHERE oid = 'webhook_events'::regclass) = 'p'
  AND NOT EXISTS (
      SELECT
      FROM pg_inherits AS i
      JOIN pg_class AS c ON c.oid = i.inhrelid
      CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) AS b
      WHERE i.inhparent = 'webhook_events'::regclass
        AND NOT i.inhdetachpending
        AND (b.bound LIKE 'FOR VALUES FROM (MINVALUE)%%'
             OR substring(b.bound FROM 'FROM \(''([^'']+)''\)')::timestamptz <= moment)
        AND substring(b.bound FROM 'TO \(''([^'']+)''\)')::timestamptz > moment
  )
