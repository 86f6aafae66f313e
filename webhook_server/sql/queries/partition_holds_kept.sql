-- Whether a day still holds an event retention must keep (a status not pruned: pending,
-- failed, dead unless asked for), through the day's (status, received_at) index.
SELECT EXISTS (SELECT FROM {partition} WHERE status = ANY(%(kept)s::text[]))
