-- Whether webhook_events is partitioned already (a new install, or converted), or still the plain table.
SELECT relkind = 'p' FROM pg_class WHERE oid = 'webhook_events'::regclass
