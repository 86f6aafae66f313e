"""The dashboard's pages: the overview, the event list, one event with its history, replays.

Every read and write goes through webhook_server.operator.queries, the statements the command
line runs, so the dashboard and `webhook-server events|replay|stats` never disagree.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from webhook_server import db
from webhook_server.dashboard import chart, filters
from webhook_server.dashboard.database import connection
from webhook_server.operator import output, queries

bp = Blueprint("pages", __name__)

PAGE_SIZE = 50
NEWEST_DEAD = 10
# Who replayed, in an event's history: the dashboard has one password, not one account per person.
REPLAYED_BY = "the dashboard"


@bp.get("/")
def overview() -> str:
    with connection() as conn:
        stats = queries.stats(conn)
        hourly = chart.hourly(queries.events_per_hour(conn))
        dead = queries.list_events(conn, queries.EventFilter(status="dead"), limit=NEWEST_DEAD)
        destinations = queries.destination_states(conn)
        lag = db.replica_lag(conn)
    schemes = sorted(stats.counts)
    return render_template(
        "overview.html",
        stats=stats,
        schemes=schemes,
        statuses=queries.STATUSES,
        chart=hourly,
        dead=dead,
        destinations=destinations,
        lag=lag,
    )


@bp.get("/events")
def events() -> str:
    where = filters.from_args(request.args)
    before = filters.page_start(request.args.get("before"))
    with connection() as conn:
        found = queries.list_events(conn, where, limit=PAGE_SIZE + 1, before=before)
    older = None
    if len(found) > PAGE_SIZE:
        found = found[:PAGE_SIZE]
        older = found[-1].id
    return render_template(
        "events.html",
        events=found,
        args=filters.as_args(request.args),
        older=older,
        paged=before is not None,
        statuses=queries.STATUSES,
    )


@bp.get("/events/<int:row_id>")
def event(row_id: int) -> str:
    with connection() as conn:
        found = queries.event_by_row(conn, row_id)
        if found is None:
            abort(404, f"no event in row {row_id}; the event list shows the stored ones")
        attempts = queries.history(conn, row_id)
        deliveries = queries.deliveries(conn, row_id)
    return render_template(
        "event.html",
        event=found,
        attempts=attempts,
        deliveries=deliveries,
        payload=output.pretty_json(found.payload),
    )


@bp.get("/events/<int:row_id>/payload.json")
def payload(row_id: int) -> Response:
    """The body exactly as it was signed, as a download (for a row stored before migration 0003,
    which kept no body: its jsonb, keys and spacing as Postgres keeps them)."""
    with connection() as conn:
        found = queries.event_by_row(conn, row_id)
    if found is None:
        abort(404, f"no event in row {row_id}")
    filename = f"{found.scheme}-{row_id}.json"
    return Response(
        found.body if found.body is not None else json.dumps(found.payload, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/events/<int:row_id>/replay")
def replay(row_id: int) -> BaseResponse:
    with connection() as conn:
        result = queries.replay(conn, by=REPLAYED_BY, row_ids=[row_id], where=queries.EventFilter())
    if result.replayed:
        flash("Replayed: the event is pending again and the workers were woken.", "ok")
    else:
        flash("Not replayed: a worker is processing it right now (or it is gone). Try again after it.", "problem")
    return redirect(url_for("pages.event", row_id=row_id))


@bp.get("/replay")
def bulk_replay_confirm() -> str:
    """How many dead or failed events the filters select, and the button that replays them."""
    where = filters.from_args(request.args)
    with connection() as conn:
        count = queries.count_replayable(conn, where, queries.BULK_REPLAY_STATUSES)
    return render_template(
        "bulk_replay.html", count=count, args=filters.as_args(request.args), statuses=queries.BULK_REPLAY_STATUSES
    )


@bp.post("/replay")
def bulk_replay() -> BaseResponse:
    where = filters.from_args(request.form)
    with connection() as conn:
        result = queries.replay(conn, by=REPLAYED_BY, where=where, statuses=queries.BULK_REPLAY_STATUSES)
    replayed = len(result.replayed)
    flash(f"Replayed {replayed} event{'' if replayed == 1 else 's'}: pending again, the workers woken.", "ok")
    return redirect(filters.filtered_url("pages.events", filters.as_args(request.form)))
