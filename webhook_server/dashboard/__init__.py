"""``webhook-server dashboard``: the operator's pages in a browser, a process and port of their own.

It reads and replays events through the operator's queries (webhook_server.operator.queries),
never through the web server: a dashboard down, slow or attacked costs no webhook a 200.
"""
