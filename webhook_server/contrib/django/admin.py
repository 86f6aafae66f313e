"""A read-only admin for the webhook events, with their attempt history and a replay action.

Nothing is added, edited or deleted here: events are what the senders sent, and their state is
the worker's. Replay is the one change, made by the same statement as ``webhook-server replay``
and the dashboard's (attempts reset, the history kept, an event a worker holds left alone), so
it needs the change permission on Webhook events.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest

from webhook_server.contrib.django.database import database_alias
from webhook_server.contrib.django.models import WebhookEvent, WebhookEventAttempt
from webhook_server.operator.queries import EventFilter, replay


class _ReadOnly:
    """No add, change or delete: the admin only shows."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AttemptInline(_ReadOnly, admin.TabularInline):
    model = WebhookEventAttempt
    fields = ("attempt", "outcome", "worker", "started_at", "finished_at", "error")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEventAttempt]:
        return super().get_queryset(request).using(database_alias())


@admin.register(WebhookEvent)
class WebhookEventAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("event_id", "route", "event_type", "status", "attempts", "received_at", "processed_at")
    list_filter = ("status", "scheme", "endpoint")
    search_fields = ("=event_id", "event_type")
    show_full_result_count = False  # a count(*) of the whole table on every page is slow on a big one
    inlines = (AttemptInline,)
    actions = ("replay",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEvent]:
        return super().get_queryset(request).using(database_alias())

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhook_server.change_webhookevent")

    @admin.action(description="Replay the selected events (run their handlers again)", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        row_ids = list(queryset.values_list("id", flat=True))
        connection = connections[database_alias()]
        connection.ensure_connection()
        by = f"{request.user.get_username()} (Django admin)"
        result = replay(connection.connection, by=by, row_ids=row_ids, where=EventFilter())
        self.message_user(request, f"{len(result.replayed)} events replayed: due now for the workers.")
        if len(result.replayed) < len(row_ids):
            self.message_user(
                request,
                f"{len(row_ids) - len(result.replayed)} events were left alone: a worker holds them right now. "
                "Try again when it has finished.",
                messages.WARNING,
            )
