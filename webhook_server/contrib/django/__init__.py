"""Django support: handlers on the ORM, exactly-once effects in Django's transactions, and the admin.

For a Django project whose database is the Postgres that holds the webhook tables. Add
``"webhook_server.contrib.django"`` to ``INSTALLED_APPS`` (for the ``WebhookEvent`` model and
its read-only admin) and run ``webhook-server worker`` with ``DJANGO_SETTINGS_MODULE`` set:
the worker calls ``django.setup()`` before it imports the handler modules and runs handlers
with Django's connection hygiene (``worker.py``). ``WEBHOOK_DATABASE`` in the Django settings
names the database alias that holds the webhook tables (default ``"default"``).

Nothing else in webhook_server imports this package (an import-linter contract): the worker
loads ``worker.py`` by name, so Django is needed only by those who use it.
"""
