"""Sign-in with the one operator password, the session that follows, and the CSRF token of every form.

The session is Flask's signed cookie (HttpOnly, SameSite=Strict, Secure under TLS), signed with
a random key of its own (webhook_server/dashboard/sessions.py). Every page but /login needs it:
a browser is sent to /login, anything else gets 401. A session lasts ``SESSION_HOURS`` from its
sign-in however often it is used (Flask re-signs the cookie on every request, which alone let
a stolen one live forever), and logging out ends every session: the key is replaced. Every
POST, /login's included, must carry the session's ``csrf_token``: without it the answer is 400
and nothing changes.

Password checks are limited, per client and overall (``_Throttle``); one over the limit is
refused at once with 429 and ``Retry-After``, its password unchecked. A wrong guess used to
wait out a pause instead, holding one of the 4 request threads meanwhile: 32 wrong guesses at
once made an operator's page take 29 s.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from webhook_server.dashboard.sessions import SessionKey

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

# After a password is checked, how long before the same client may try again, and anyone at all.
CLIENT_INTERVAL_SECONDS = 3.0
OVERALL_INTERVAL_SECONDS = 1.0
SESSION_HOURS = 12
PASSWORD_KEY = "WEBHOOK_DASHBOARD_PASSWORD"
SESSION_KEY = "WEBHOOK_DASHBOARD_SESSION_KEY"
_OPEN_ENDPOINTS = frozenset({"auth.login", "static"})


class _Throttle:
    """When the next password may be checked, per client address and overall.

    Behind a proxy every client has the proxy's address: the per-client limit is then a second
    overall one. Entries whose wait is over are dropped once the table has grown.
    """

    _PRUNE_AT = 1024

    def __init__(self, client_interval: float, overall_interval: float) -> None:
        self._client_interval = client_interval
        self._overall_interval = overall_interval
        self._lock = threading.Lock()
        self._next_overall = 0.0
        self._next_by_client: dict[str, float] = {}

    def take(self, client: str, now: float) -> float:
        """0 with a check reserved for ``client``, or the seconds to wait before the next one."""
        with self._lock:
            wait = max(self._next_overall, self._next_by_client.get(client, 0.0)) - now
            if wait > 0:
                return wait
            if len(self._next_by_client) >= self._PRUNE_AT:
                self._next_by_client = {key: at for key, at in self._next_by_client.items() if at > now}
            self._next_overall = now + self._overall_interval
            self._next_by_client[client] = now + self._client_interval
            return 0.0

    def forgive(self, client: str) -> None:
        """The password was right: this client need not wait to sign in again."""
        with self._lock:
            self._next_by_client.pop(client, None)


_throttle = _Throttle(CLIENT_INTERVAL_SECONDS, OVERALL_INTERVAL_SECONDS)


def init_app(app: Flask, password: str, key: SessionKey) -> None:
    app.config[PASSWORD_KEY] = hashlib.sha256(password.encode()).digest()
    app.config[SESSION_KEY] = key
    app.secret_key = key.current
    app.before_request(_require_session_and_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_blueprint(bp)


def csrf_token() -> str:
    """This session's token, for the hidden ``csrf_token`` input of every form."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _require_session_and_csrf() -> Response | None:
    if session.get("signed_in") and time.time() - session.get("since", 0) > SESSION_HOURS * 3600:
        session.clear()  # signed in too long ago, however often it was used since
    if request.endpoint not in _OPEN_ENDPOINTS and not session.get("signed_in"):
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(401)
    if request.method == "POST":
        expected = session.get("csrf")
        given = request.form.get("csrf_token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            logger.warning("refused a POST to %s without a valid csrf_token", request.path)
            abort(400, "the form's csrf_token is missing or stale: reload the page and submit it again")
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        return render_template("login.html", next=target, wrong=False)
    client = request.remote_addr or "?"
    wait = _throttle.take(client, time.monotonic())
    if wait > 0:
        seconds = math.ceil(wait)
        page = render_template("login.html", next=target, wrong=False, wait=seconds)
        return page, 429, {"Retry-After": str(seconds)}
    given = hashlib.sha256(request.form.get("password", "").encode()).digest()
    if not hmac.compare_digest(given, current_app.config[PASSWORD_KEY]):
        logger.warning("a wrong dashboard password from %s", client)
        return render_template("login.html", next=target, wrong=True), 401
    _throttle.forgive(client)
    session.clear()  # a fresh session, and a fresh csrf token, for the signed-in operator
    session.permanent = True
    session["signed_in"] = True
    session["since"] = time.time()
    return redirect(target)


@bp.post("/logout")
def logout() -> Response:
    """Sign out everywhere: a new key, so every cookie signed so far (a stolen one too) is void."""
    session.clear()
    current_app.secret_key = current_app.config[SESSION_KEY].replace()
    return redirect(url_for("auth.login"))


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to another host."""
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host": another site.
    if not target.startswith("/") or target[1:2] in ("/", "\\") or parts.scheme or parts.netloc:
        return "/"
    return target
