-- Named endpoints of any scheme (WEBHOOK_ENDPOINTS_FILE) and the request headers that carry meaning.
-- endpoint: the route /webhooks/<endpoint> the event came to. NULL on rows stored before this
-- migration (and by a server not yet upgraded), whose endpoint was the provider's own route:
-- readers take coalesce(endpoint, provider). Nullable, so no existing row is rewritten and
-- ingest is not blocked while the migration runs.
-- headers: the stored headers (lowercase names), never a signature or credential.
-- A constant default is instant in Postgres 11+: no rewrite either.
ALTER TABLE webhook_events
    ADD COLUMN endpoint text,
    ADD COLUMN headers  jsonb NOT NULL DEFAULT '{}';

COMMENT ON COLUMN webhook_events.endpoint IS 'route /webhooks/<endpoint> the event came to; NULL before 0005: the provider''s own';
COMMENT ON COLUMN webhook_events.headers IS 'request headers kept with the event (lowercase names); never credentials';
