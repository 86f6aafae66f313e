"""WEBHOOK_DESTINATIONS_FILE: every mistake stops the start with the file, the destination, the key and the fix."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from webhook_server.destinations_file import DestinationSpec, from_environ, load
from webhook_server.errors import ConfigError

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
ENV = {"APP_SECRET": SECRET}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "destinations.toml"
    path.write_text(text, encoding="utf-8")
    return path


def table(**settings: str) -> str:
    lines = ["[destinations.app]", 'url = "https://app.internal/webhooks"', 'secret_env = "APP_SECRET"']
    return "\n".join(lines + [f"{k} = {v}" for k, v in settings.items()]) + "\n"


def test_a_full_table_is_read_with_its_durations_and_patterns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        table(
            endpoints='["stripe", "stripe-eu"]',
            event_types='["invoice.*"]',
            pass_headers='["X-GitHub-Event"]',
            concurrency="8",
            connect_timeout='"2s"',
            timeout="12.5",
            max_age='"3d"',
            retry_base='"10s"',
            retry_cap='"1h"',
            pause_after='"off"',
        ),
    )
    (spec,) = load(path, ENV)
    assert spec.name == "app" and spec.secret == SECRET and spec.concurrency == 8
    assert (spec.connect_timeout, spec.timeout, spec.max_age, spec.retry_cap) == (2.0, 12.5, 3 * 86400.0, 3600.0)
    assert spec.pass_headers == ("x-github-event",) and spec.pause_after is None
    assert spec.takes("stripe-eu", "invoice.paid")
    assert not spec.takes("stripe-eu", "charge.succeeded")
    assert not spec.takes("github", "invoice.paid")
    assert "whsec" not in repr(spec)


def test_a_nats_destination(tmp_path: Path) -> None:
    text = table(subject='"webhooks.payments"', ordered="true").replace(
        "https://app.internal/webhooks", "nats://bus:4222"
    )
    (spec,) = load(write(tmp_path, text), ENV)
    assert spec.is_nats and spec.subject == "webhooks.payments" and spec.ordered


def test_defaults_take_every_event(tmp_path: Path) -> None:
    (spec,) = load(write(tmp_path, table()), ENV)
    assert spec == DestinationSpec(
        name="app", url="https://app.internal/webhooks", secret_variable="APP_SECRET", secret=SECRET
    )
    assert spec.takes("anything", "any.type")


def test_patterns_are_case_sensitive_everywhere(tmp_path: Path) -> None:
    (spec,) = load(write(tmp_path, table(event_types='["Invoice.*"]')), ENV)
    assert not spec.takes("stripe", "invoice.paid")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"url": '"ftp://x/"'}, "url must start with http:// or https://"),
        ({"url": '"https://user:pw@x/"'}, "must not hold credentials"),
        ({"url": '"https://x:99999/"'}, "url is not a valid URL"),
        ({"url": '"https://x/\\u0000"'}, "printable ASCII"),
        ({"url": '"https://x/\\ud7ff"'}, "printable ASCII"),
        ({"url": '"https://x/#frag"'}, "#fragment"),
        ({"concurrency": "0"}, "concurrency must be a whole number from 1 to 64"),
        ({"concurrency": "true"}, "concurrency must be a whole number"),
        ({"timeout": '"forever"'}, "timeout must be a duration"),
        ({"timeout": "nan"}, "timeout must be a duration"),
        ({"timeout": "inf"}, "timeout must be a duration"),
        ({"connect_timeout": "10", "timeout": "5"}, "connect_timeout 10 s is above timeout 5 s"),
        ({"retry_base": '"1h"', "retry_cap": '"1m"'}, "retry_cap 60 s is below retry_base 3600 s"),
        ({"endpoints": '["Stripe"]'}, "endpoints must be a list of endpoint names"),
        ({"endpoints": '"stripe"'}, "endpoints must be a list"),
        ({"event_types": '["a\\u001b[31m"]'}, "control character"),
        ({"pass_headers": '["Stripe-Signature"]'}, "carries a credential"),
        ({"pass_headers": '["Content-Length"]'}, "set by the forwarder itself"),
        ({"pass_headers": '["bad header"]'}, "pass_headers must be a list of header names"),
        ({"ca_file": '"/nonexistent/ca.pem"'}, "ca_file /nonexistent/ca.pem is not a readable file"),
        ({"retries": "3"}, "unknown setting 'retries'"),
        ({"ordered": '"yes"'}, "ordered must be true or false"),
        ({"rate": "0"}, "rate must be a number from 0.01 to 100000"),
        ({"rate": "nan"}, "rate must be a number"),
        ({"rate": '"fast"'}, "rate must be a number"),
        ({"transform": '"os.system"'}, 'transform must be "package.module:function"'),
        ({"transform": '"a:b; rm -rf /"'}, 'transform must be "package.module:function"'),
        ({"subject": '"webhooks.x"'}, "subject is for NATS destinations only"),
        ({"url": '"nats://bus:4222"'}, "subject is the JetStream subject of a nats:// or tls:// url"),
        ({"url": '"nats://bus:4222"', "subject": '"webhooks.>"'}, "no wildcard"),
        ({"url": '"nats://bus:4222"', "subject": '"a b"'}, "no wildcard"),
    ],
)
def test_each_mistake_names_the_key_and_the_fix(tmp_path: Path, settings: dict[str, str], expected: str) -> None:
    text = table(**{k: v for k, v in settings.items() if k != "url"})
    if "url" in settings:
        text = text.replace('"https://app.internal/webhooks"', settings["url"])
    with pytest.raises(ConfigError) as raised:
        load(write(tmp_path, text), ENV)
    message = str(raised.value)
    assert message.startswith("WEBHOOK_DESTINATIONS_FILE: ") and "destination 'app'" in message
    assert expected in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "its secret_env APP_SECRET is not set"),
        ({"APP_SECRET": "not-base64!"}, "is not a Standard Webhooks secret"),
        ({"APP_SECRET": "whsec_" + base64.b64encode(b"short").decode()}, "use at least 16 random bytes"),
        ({"APP_SECRET": f"{SECRET},{SECRET}"}, "holds several secrets"),
    ],
)
def test_the_secret_must_be_a_standard_webhooks_secret(tmp_path: Path, environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as raised:
        load(write(tmp_path, table()), environ)
    assert "not-base64" not in str(raised.value)


def test_the_secret_may_come_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    (spec,) = load(write(tmp_path, table()), {"APP_SECRET_FILE": str(secret_file)})
    assert spec.secret == SECRET


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "has no [destinations.<name>] table"),
        ("[destinations]\n", "has no [destinations.<name>] table"),
        ("destinations = 3\n", "has no [destinations.<name>] table"),
        ("[destinations.app\n", "is not valid TOML"),
        (table() + "[other]\n", "unknown top-level key 'other'"),
        (table().replace("destinations.app", 'destinations."Bad Name"'), "the name must be"),
        (table().replace("destinations.app", 'destinations."a\\u0000"'), "the name must be"),
        ("[destinations]\napp = 3\n", "must be a table of settings"),
        (table(concurrency="1" + "0" * 5000), "is not valid TOML: Exceeds the limit"),
    ],
)
def test_the_file_itself(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load(write(tmp_path, text), ENV)


def test_unreadable_and_not_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*: No such file"):
        load(tmp_path / "absent.toml", ENV)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path, ENV)


def test_the_variable_is_required() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_DESTINATIONS_FILE: not set; set it to the TOML file"):
        from_environ({})
