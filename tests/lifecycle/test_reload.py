"""SIGHUP on the real gunicorn (`systemctl reload`): a bad configuration is refused and the running
workers keep serving; a good one replaces the workers without a failed delivery; metrics survive.

The configuration that changes is WEBHOOK_ENDPOINTS_FILE's content: the master's environment
stays what it was at start, as under systemd.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests import signers
from tests.harness.gunicorn import GunicornServer
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from tests.harness.polling import wait_for

ACME = """
[endpoints.acme]
secret_env = "ACME_SECRET"
header = "X-Acme-Signature"
"""
BETA = """
[endpoints.beta]
secret_env = "BETA_SECRET"
header = "X-Beta-Signature"
algorithm = "sha512"
"""
SECRETS = {"ACME_SECRET": "acme-reload-secret", "BETA_SECRET": "beta-reload-secret"}
# The load's rate: a steady stream on a busy 2-core machine, not a benchmark.
LOAD_RATE = 25
REPLACE_TIMEOUT_SECONDS = 30


@pytest.fixture
def endpoints_path(tmp_path: Path) -> Path:
    path = tmp_path / "endpoints.toml"
    path.write_text(ACME)
    return path


@pytest.fixture
def server(start_server: Callable[..., GunicornServer], endpoints_path: Path) -> GunicornServer:
    return start_server(WEBHOOK_ENDPOINTS_FILE=str(endpoints_path), **SECRETS)


def deliver_generic(server: GunicornServer, name: str) -> requests.Response:
    """A signed delivery to generic endpoint ``name`` (acme or beta above)."""
    body = json.dumps({"id": name, "data": {"amount": 5}}).encode()
    algorithm = "sha512" if name == "beta" else "sha256"
    secret = SECRETS[f"{name.upper()}_SECRET"]
    headers = signers.generic(body, secret, header=f"X-{name.capitalize()}-Signature", algorithm=algorithm)
    return requests.post(server.url(f"/webhooks/{name}"), data=body, headers=headers, timeout=10)


def hup_and_wait_for_new_workers(server: GunicornServer) -> set[int]:
    """SIGHUP; wait until the new workers logged ready and the old ones are gone; the new pids."""
    old = server.worker_pids()
    since = server.log_offset()
    server.send_signal(signal.SIGHUP)
    new = set(server.wait_ready_lines(server.workers, since=since))
    assert not new & old, (new, old)
    wait_for(lambda: server.worker_pids() == new, REPLACE_TIMEOUT_SECONDS, lambda: f"old workers gone:\n{server.log()}")
    return new


@pytest.mark.parametrize(
    ("bad_file", "named"),
    [
        ("[endpoints.acme\n", "not valid TOML"),
        (ACME + '\n[endpoints.gamma]\nsecret_env = "GAMMA_SECRET"\nheader = "X-Gamma-Signature"\n', "GAMMA_SECRET"),
    ],
    ids=["invalid-toml", "secret-env-missing"],
)
def test_a_bad_endpoints_file_is_refused_on_sighup_and_the_old_workers_keep_serving(
    server: GunicornServer, endpoints_path: Path, bad_file: str, named: str
) -> None:
    workers = server.worker_pids()
    assert len(workers) == server.workers
    endpoints_path.write_text(bad_file)
    since = server.log_offset()
    server.send_signal(signal.SIGHUP)

    def refusals() -> list[str]:
        return [line for line in server.log_path.read_bytes()[since:].decode().splitlines() if "reload refused" in line]

    (line,) = wait_for(refusals, 10, lambda: f"the reload refused:\n{server.log()}")
    record = json.loads(line)
    assert record["level"] == "error"
    assert "WEBHOOK_ENDPOINTS_FILE" in record["message"] and str(endpoints_path) in record["message"]
    assert named in record["message"]

    for _ in range(5):
        assert server.deliver().status_code == 200
        assert deliver_generic(server, "acme").status_code == 200
    assert server.process.poll() is None
    assert server.worker_pids() == workers  # the same processes: nothing was replaced
    log = server.log_path.read_bytes()[since:].decode()
    assert "Booting worker" not in log and "Traceback" not in log, log


def test_a_valid_change_on_sighup_replaces_the_workers_without_a_failed_delivery(
    server: GunicornServer, endpoints_path: Path, clean_db: str
) -> None:
    assert deliver_generic(server, "beta").status_code == 404
    with SignedLoad(server.url("/webhooks/stripe"), rate=LOAD_RATE) as load:
        wait_for(lambda: len(load.ledger.acknowledged) >= 10, 20, "the load flowing before the reload")
        endpoints_path.write_text(ACME + BETA)
        hup_and_wait_for_new_workers(server)
        after_reload = len(load.ledger.acknowledged)
        wait_for(lambda: len(load.ledger.acknowledged) >= after_reload + 10, 20, "the load flowing after it")
    assert load.ledger.failures == []
    assert_each_acknowledged_event_stored_once(load.ledger, clean_db)
    assert deliver_generic(server, "beta").status_code == 200
    assert deliver_generic(server, "acme").status_code == 200
    assert requests.get(server.url("/health"), timeout=5).status_code == 200  # the old workers' stop is no drain


def events_total(server: GunicornServer) -> float:
    text = requests.get(server.url("/metrics"), timeout=5).text
    (family,) = (family for family in text_string_to_metric_families(text) if family.name == "webhook_events")
    return sum(sample.value for sample in family.samples if sample.name == "webhook_events_total")


def test_metrics_totals_survive_a_reload(server: GunicornServer) -> None:
    for _ in range(7):
        assert server.deliver().status_code == 200
    assert events_total(server) == 7
    hup_and_wait_for_new_workers(server)
    assert events_total(server) == 7
    assert server.deliver().status_code == 200
    assert events_total(server) == 8
