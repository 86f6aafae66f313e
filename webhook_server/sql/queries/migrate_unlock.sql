SELECT pg_advisory_unlock(hashtext('webhook_server.migrate'))
