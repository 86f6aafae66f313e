"""webhook-server: a webhook receiver that commits every verified event before its 200.

The package root imports nothing, so the worker and the operator commands do not load Flask:
the web app is built by ``webhook_server.web.app.create_app``.
"""
