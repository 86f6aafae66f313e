"""The local spool: verified events kept on this host's disk while Postgres cannot commit them.

``store.Spool`` is one SQLite file in ``WEBHOOK_SPOOL_DIR`` shared by every process on the host;
``drainer.Drainer`` is the thread in each gunicorn worker that moves its events into
``webhook_events`` as soon as Postgres answers; ``record`` turns an ``IncomingEvent`` into rows
and back without knowing its fields.
"""
