"""The project's Django settings, made for one database URL (the tests' embedded Postgres)."""

from __future__ import annotations

from typing import Any

from psycopg.conninfo import conninfo_to_dict


def django_settings(database_url: str, conn_max_age: float | None = 0) -> dict[str, Any]:
    """What a settings module of this project holds; ``conn_max_age`` None keeps connections open."""
    conninfo = conninfo_to_dict(database_url)
    return {
        "SECRET_KEY": "tests-only",
        "DEBUG": False,
        "ALLOWED_HOSTS": ["testserver"],
        "USE_TZ": True,
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": conninfo.get("dbname", "postgres"),
                "USER": conninfo.get("user", ""),
                "PASSWORD": conninfo.get("password", ""),
                "HOST": conninfo.get("host", ""),
                "PORT": conninfo.get("port", ""),
                "CONN_MAX_AGE": conn_max_age,
            }
        },
        "INSTALLED_APPS": [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "webhook_server.contrib.django",
            "tests.contrib_django.shop",
        ],
        "MIDDLEWARE": [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        "ROOT_URLCONF": "tests.contrib_django.shop.urls",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
    }


def settings_module(database_url: str) -> str:
    """The text of a settings module for the worker (``SHOP_CONN_MAX_AGE``: seconds, or none to keep)."""
    return (
        "import os\n"
        "from tests.contrib_django.shop.config import django_settings\n"
        "_age = os.environ.get('SHOP_CONN_MAX_AGE', '0')\n"
        f"globals().update(django_settings({database_url!r}, None if _age == 'none' else float(_age)))\n"
    )
