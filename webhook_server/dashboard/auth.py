"""Sign-in with the one operator password, the session that follows, and the CSRF token of every form.

The session is Flask's signed cookie (HttpOnly, SameSite=Strict, Secure under TLS). Every page
but /login needs it: a browser is sent to /login, anything else gets 401. Every POST, /login's
included, must carry the session's ``csrf_token``: without it the answer is 400 and nothing
changes. A wrong password is answered only after a pause taken under a lock, so guesses are
serialised to one per pause in this process (the dashboard runs one gunicorn worker).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

# How long a wrong password waits for its answer; no other guess is checked meanwhile.
WRONG_PASSWORD_DELAY_SECONDS = 1.0
PASSWORD_KEY = "WEBHOOK_DASHBOARD_PASSWORD"
_OPEN_ENDPOINTS = frozenset({"auth.login", "static"})
_wrong_password_lock = threading.Lock()


def init_app(app: Flask, password: str) -> None:
    app.config[PASSWORD_KEY] = hashlib.sha256(password.encode()).digest()
    app.before_request(_require_session_and_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_blueprint(bp)


def csrf_token() -> str:
    """This session's token, for the hidden ``csrf_token`` input of every form."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _require_session_and_csrf() -> Response | None:
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
    given = hashlib.sha256(request.form.get("password", "").encode()).digest()
    if not hmac.compare_digest(given, current_app.config[PASSWORD_KEY]):
        with _wrong_password_lock:
            time.sleep(WRONG_PASSWORD_DELAY_SECONDS)
        logger.warning("a wrong dashboard password from %s", request.remote_addr)
        return render_template("login.html", next=target, wrong=True), 401
    session.clear()  # a fresh session, and a fresh csrf token, for the signed-in operator
    session.permanent = True
    session["signed_in"] = True
    return redirect(target)


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("auth.login"))


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to another host."""
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host": another site.
    if not target.startswith("/") or target[1:2] in ("/", "\\") or parts.scheme or parts.netloc:
        return "/"
    return target
