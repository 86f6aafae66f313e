"""The webhook tables as Django models, unmanaged: ``webhook-server migrate`` owns the schema.

Read them with the ORM (``WebhookEvent.objects.filter(status="dead")``); change events through
the admin's replay action or the ``webhook-server`` commands, which keep the leases and the
attempt history right. Saving these models directly is not supported.
"""

from __future__ import annotations

from django.db import models


class WebhookEvent(models.Model):
    """One received event and where its processing stands."""

    id = models.BigAutoField(primary_key=True)
    # The column keeps its pre-0.1.0 name (migration 0008).
    scheme = models.TextField(db_column="provider")
    # The route /webhooks/<endpoint> it came to; None on rows stored before migration 0005,
    # which came to the scheme's own route (``route`` reads either).
    endpoint = models.TextField(null=True)
    event_id = models.TextField()
    event_type = models.TextField()
    # The body exactly as signed; None on rows stored before migration 0003.
    body = models.BinaryField(null=True)
    # The body as jsonb; None when Postgres cannot hold it as jsonb (``body`` has it then).
    payload = models.JSONField(null=True)
    # The request headers kept with the event (lower-case names); never a credential.
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    status = models.TextField()
    attempts = models.IntegerField()
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(null=True)
    locked_until = models.DateTimeField(null=True)
    locked_by = models.TextField(null=True)
    processed_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "webhook_events"
        ordering = ("-id",)  # arrival order, newest first, on the primary key

    def __str__(self) -> str:
        return f"{self.scheme} {self.event_id} ({self.event_type})"

    @property
    def route(self) -> str:
        """The endpoint it came to, the scheme's own for rows stored before endpoints were named."""
        return self.endpoint or self.scheme


class WebhookEventAttempt(models.Model):
    """One row of an event's history: an attempt and what it came to (done, failed, timed_out, given_back,
    lost), or where a replay began (replayed; worker is who asked)."""

    # The table's key is (event_row, id); id alone is unique too (an identity), which Django needs.
    id = models.BigIntegerField(primary_key=True)
    event = models.ForeignKey(WebhookEvent, models.DO_NOTHING, db_column="event_row", related_name="history")
    attempt = models.IntegerField()
    worker = models.TextField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.TextField()
    error = models.TextField(null=True)

    class Meta:
        managed = False
        db_table = "webhook_event_attempts"
        ordering = ("id",)
