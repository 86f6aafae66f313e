"""The Django app: ``webhook_server`` as its label, so the admin lists it as Webhooks."""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhook_server.contrib.django"
    label = "webhook_server"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"
