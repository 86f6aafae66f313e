"""Which of the Django project's databases holds the webhook tables (``settings.WEBHOOK_DATABASE``)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

SETTING = "WEBHOOK_DATABASE"


def database_alias() -> str:
    """The alias from the settings (``"default"`` unless set); ImproperlyConfigured names the fix."""
    alias = getattr(settings, SETTING, "default")
    if alias not in connections.settings:
        raise ImproperlyConfigured(
            f"{SETTING} = {alias!r} is not in DATABASES; set it to the alias of the database that holds "
            "the webhook tables (the one DATABASE_URL names)"
        )
    if connections[alias].vendor != "postgresql":
        raise ImproperlyConfigured(
            f"DATABASES[{alias!r}] is {connections[alias].vendor}; the webhook tables live in Postgres: "
            f"point {SETTING} at the alias of that Postgres database"
        )
    return alias
