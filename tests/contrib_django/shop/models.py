"""``Effect``: what the shop's handlers write. No unique key, so a duplicate effect shows as a second row."""

from __future__ import annotations

from django.db import models


class Effect(models.Model):
    event_id = models.TextField()
    attempt = models.IntegerField()
    # The Postgres session the write was made on: tells the handlers' connections apart.
    backend_pid = models.IntegerField()

    class Meta:
        managed = False  # the tests create the table
        db_table = "shop_effects"
