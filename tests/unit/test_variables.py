"""The table of environment variables (webhook_server/variables.py) against the code that reads them.

The reference page is rendered from the table, so the table must hold every variable the package
reads, none it does not, and the defaults the settings objects and commands really take.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
import pytest

from scripts.docs_reference import commands
from webhook_server.cli import main
from webhook_server.dashboard.settings import DashboardSettings
from webhook_server.forwarder.settings import ForwarderSettings
from webhook_server.settings import Settings, WorkerSettings
from webhook_server.variables import VARIABLES, Process

PACKAGE = Path(__file__).resolve().parents[2] / "webhook_server"
NAME = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+")
# Names in the package that look like variables and are not read from the environment.
NOT_VARIABLES = {
    # WSGI environ keys and Flask configuration keys.
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "PATH_INFO",
    "QUERY_STRING",
    "RAW_URI",
    "REMOTE_ADDR",
    "REQUEST_METHOD",
    "SERVER_PROTOCOL",
    "MAX_CONTENT_LENGTH",
    "WEBHOOK_DASHBOARD_SESSION_KEY",
    # Twilio's names of its signature algorithms (X-Twilio-Webhooks-Signature-Settings).
    "HMAC_SHA1",
    "HMAC_SHA256",
    # The endpoints file's schemes: the secret's variable is the endpoint's own secret_env; these
    # are only what a verifier built without one (in tests) names in its messages.
    "ADYEN_HMAC_KEY",
    "BITBUCKET_WEBHOOK_SECRET",
    "CALENDLY_WEBHOOK_SIGNING_KEY",
    "CLERK_WEBHOOK_SIGNING_SECRET",
    "DISCORD_PUBLIC_KEY",
    "GITLAB_WEBHOOK_TOKEN",
    "HUBSPOT_CLIENT_SECRET",
    "INTERCOM_CLIENT_SECRET",
    "JIRA_WEBHOOK_SECRET",
    "LINEAR_WEBHOOK_SECRET",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "PADDLE_WEBHOOK_SECRET",
    "RESEND_WEBHOOK_SECRET",
    "SENDGRID_VERIFICATION_KEY",
    "SQUARE_SIGNATURE_KEY",
    "TWILIO_AUTH_TOKEN",
    "TWITCH_EVENTSUB_SECRET",
    "TYPEFORM_WEBHOOK_SECRET",
    "WOOCOMMERCE_WEBHOOK_SECRET",
    "ZENDESK_WEBHOOK_SECRET",
    "ZOOM_SECRET_TOKEN",
    # A Django setting (the project's settings module, not the environment).
    "WEBHOOK_DATABASE",
    # A file in a Postgres data directory.
    "PG_VERSION",
    # Examples in docstrings and messages of the endpoints file's secret_env and api_key_env.
    "ACME_WEBHOOK_SECRET",
    "STRIPE_EU_WEBHOOK_SECRET",
    "STRIPE_EU_API_KEY",
}
DECLARED = {variable.name: variable for variable in VARIABLES}


def names_in_package() -> set[str]:
    """Every string constant of the package that is spelled like an environment variable, but
    for the table's own."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "variables.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.fullmatch(node.value):
                found.add(node.value)
    return found


def test_every_variable_the_package_names_is_declared() -> None:
    undeclared = names_in_package() - NOT_VARIABLES - set(DECLARED)
    assert not undeclared, (
        f"{sorted(undeclared)}: declare each in webhook_server/variables.py (or, if it is not an "
        "environment variable, in NOT_VARIABLES here), then run scripts/docs reference"
    )


def test_every_declared_variable_is_read_somewhere() -> None:
    assert not set(DECLARED) - names_in_package(), "declared in webhook_server/variables.py, read nowhere"


def test_no_variable_is_declared_twice_and_each_says_something() -> None:
    assert len(DECLARED) == len(VARIABLES)
    assert all(variable.meaning.endswith(".") and variable.processes for variable in VARIABLES)


# What each settings object needs besides the variable under test, to start at all.
def _server(environ: Mapping[str, str]) -> object:
    return Settings.from_env({"DATABASE_URL": "postgresql://db/w", "STRIPE_WEBHOOK_SECRET": "whsec_x", **environ})


def _worker(environ: Mapping[str, str]) -> object:
    return WorkerSettings.from_env(
        {"DATABASE_URL": "postgresql://db/w", "WEBHOOK_HANDLER_MODULES": "my.handlers", **environ}
    )


SETTINGS: dict[Process, Callable[[Mapping[str, str]], object]] = {"server": _server, "worker": _worker}


@pytest.fixture
def forwarder_settings(tmp_path: Path) -> Callable[[Mapping[str, str]], object]:
    destinations = tmp_path / "destinations.toml"
    destinations.write_text('[destinations.app]\nurl = "https://app.internal/webhooks"\nsecret_env = "APP_SECRET"\n')

    def read(environ: Mapping[str, str]) -> object:
        return ForwarderSettings.from_env(
            {
                "DATABASE_URL": "postgresql://db/w",
                "WEBHOOK_DESTINATIONS_FILE": str(destinations),
                "APP_SECRET": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                **environ,
            }
        )

    return read


@pytest.fixture
def dashboard_settings(tmp_path: Path) -> Callable[[Mapping[str, str]], object]:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)

    def read(environ: Mapping[str, str]) -> object:
        return DashboardSettings.from_env(
            {
                "DATABASE_URL": "postgresql://db/w",
                "WEBHOOK_DASHBOARD_PASSWORD": "a long enough password",
                "WEBHOOK_DASHBOARD_STATE_DIR": str(state),
                **environ,
            }
        )

    return read


@pytest.mark.parametrize("variable", [v for v in VARIABLES if v.default], ids=lambda v: v.name)
def test_each_documented_default_is_what_the_settings_take_when_unset(
    variable: Any,
    dashboard_settings: Callable[[Mapping[str, str]], object],
    forwarder_settings: Callable[[Mapping[str, str]], object],
) -> None:
    readers = {**SETTINGS, "dashboard": dashboard_settings, "forwarder": forwarder_settings}
    checked = 0
    for process in variable.processes:
        read = readers.get(process)
        if read is None:
            continue
        default = variable.default_for(process)
        assert read({variable.name: default}) == read({}), f"{process}: {variable.name}={default} is not its default"
        checked += 1
    options = [option for option in _options() if option.envvar == variable.name]
    for option in options:
        assert str(option.default) == variable.default, f"{option.name}'s default is {option.default!r}"
        checked += 1
    if variable.name in {"WEBHOOK_LOG_LEVEL", "WEBHOOK_GUNICORN_CONFIG"}:
        checked += 1  # read before any settings object: by cli.main and web/entrypoint.py (below)
    assert checked, f"{variable.name}: nothing here checks its default"


def test_the_defaults_read_outside_the_settings_objects() -> None:
    from webhook_server.web import entrypoint

    assert f"python:{entrypoint.CONFIG_MODULE}" == DECLARED[entrypoint.CONFIG_VARIABLE].default
    assert Settings.log_level == DECLARED["WEBHOOK_LOG_LEVEL"].default


def _options() -> list[click.Option]:
    return [
        param
        for _, command in commands(main, ("webhook-server",))
        for param in command.params
        if isinstance(param, click.Option)
    ]
