"""The Kubernetes manifests and the Compose file: valid, timed to the image's stop, and runnable.

Every manifest is checked against Kubernetes' own API schemas, offline and strict (an unknown or
misplaced field fails), by kubernetes-validate. The timing rules are read from the files: the
SIGKILL may not come before the cap, the drain announce covers Kubernetes' termination race,
liveness never looks at /health (503 while draining). The server's pod spec then runs under
`podman kube play` and serves a signed delivery.
"""

from __future__ import annotations

import copy
import secrets
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import requests
import yaml

from tests.harness.containers import NETWORK, Images, container_url
from tests.harness.gunicorn import STRIPE_SECRET
from tests.harness.load import stored_rows
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port
from webhook_server.dev.samples import signed_stripe_request, stripe_event

CHECKOUT = Path(__file__).resolve().parents[2]
KUBERNETES = CHECKOUT / "deploy" / "kubernetes"
COMPOSE = CHECKOUT / "deploy" / "container" / "compose.yaml"
KUBERNETES_VERSION = "1.30.0"  # the oldest still supported upstream when this was written
# SIGKILL at least this long after the cap: the master's reaping on a loaded node.
GRACE_MARGIN_SECONDS = 5
# Endpoint removal reaches kube-proxy and ingresses seconds after the SIGTERM.
RACE_SECONDS = 5
PLAY_TIMEOUT_SECONDS = 60


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, document)
        for path in sorted(KUBERNETES.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for _, document in manifests():
        if document["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield document["metadata"]["name"], document["spec"]["template"]["spec"]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


@pytest.mark.parametrize("path,document", manifests(), ids=lambda value: getattr(value, "name", ""))
def test_each_manifest_is_valid_against_the_api_schemas(path: Path, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    listed = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())["resources"]
    shipped = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert sorted(listed) == sorted(shipped)


def test_every_pod_stops_by_itself_before_its_sigkill_and_runs_locked_down() -> None:
    for name, spec in pod_specs():
        for container in spec["containers"]:
            assert container["image"] == f"webhook-server:{version('webhook-server')}", name
            env = env_of(container)
            cap = float(env.get("WEBHOOK_SHUTDOWN_CAP", "10"))
            grace = spec.get("terminationGracePeriodSeconds", 30)
            assert grace >= cap + GRACE_MARGIN_SECONDS, f"{name}: grace {grace} s for a cap of {cap} s"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"], name
            assert spec["securityContext"]["runAsNonRoot"], name
            assert "limits" in container["resources"] and "requests" in container["resources"], name
            assert not [key for key in env if key.endswith(("SECRET", "PASSWORD", "DATABASE_URL"))], (
                f"{name}: secrets come from files (_FILE), not from the environment"
            )


def test_the_server_drains_through_the_termination_race_and_is_never_restarted_while_draining() -> None:
    server = dict(pod_specs())["webhook-server"]
    container = server["containers"][0]
    env = env_of(container)
    announce, cap = float(env["WEBHOOK_DRAIN_ANNOUNCE"]), float(env["WEBHOOK_SHUTDOWN_CAP"])
    assert announce >= RACE_SECONDS
    assert cap - announce - 1 >= 3, "too little of the cap left for requests in flight"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    liveness = container["livenessProbe"]
    assert "httpGet" not in liveness, "/health is 503 while draining: the kubelet would restart the pod"
    # Its failures take longer than the whole stop.
    assert liveness["periodSeconds"] * liveness["failureThreshold"] > server["terminationGracePeriodSeconds"]
    assert "lifecycle" not in container, "no preStop: the announce is the wait, with /health already 503"


def test_the_compose_file_parses_and_keeps_the_spool_and_the_timing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "podman_compose", "--file", str(COMPOSE), "config"],
        capture_output=True, text=True, timeout=60, cwd=COMPOSE.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    servers = [name for name, service in services.items() if service.get("command") == ["serve"]]
    assert len(servers) == 2
    for name in servers:
        service = services[name]
        cap = float(service["environment"]["WEBHOOK_SHUTDOWN_CAP"])
        assert float(service["stop_grace_period"].removesuffix("s")) >= cap + GRACE_MARGIN_SECONDS
        assert "spool:/var/lib/webhook-server/spool" in service["volumes"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name, service in services.items():
        assert "healthcheck" in service or name == "migrate", name
        assert not [key for key in service.get("environment", {}) if key.endswith(("SECRET", "PASSWORD", "URL"))]
    assert all("file" in secret for secret in compose["secrets"].values())


@pytest.fixture
def played(images: Images) -> Iterator[list[tuple[Path, str]]]:
    """(file, claim) given to `podman kube play`: the pods taken down, the claim's volume removed."""
    plays: list[tuple[Path, str]] = []
    try:
        yield plays
    finally:
        for path, claim in plays:
            images.podman.run("kube", "down", str(path), check=False)
            images.podman.run("volume", "rm", "--force", claim, check=False)


def test_the_server_pod_spec_runs_under_podman_kube_play(
    images: Images, clean_db: str, tmp_path: Path, played: list[tuple[Path, str]]
) -> None:
    statefulset = next(doc for _, doc in manifests() if doc["kind"] == "StatefulSet")
    template = copy.deepcopy(statefulset["spec"]["template"])
    spec = template["spec"]
    container = spec["containers"][0]
    port = free_port()
    container["image"] = images.image
    container["ports"][0].update(hostPort=port, hostIP="127.0.0.1")
    # podman 4.3 writes a Secret volume's values base64-encoded: the same files, from a directory.
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    for name, value in {"database-url": container_url(clean_db), "stripe-webhook-secret": STRIPE_SECRET}.items():
        (secrets_dir / name).write_text(value)
        (secrets_dir / name).chmod(0o444)
    secrets_dir.chmod(0o755)
    for volume in spec["volumes"]:
        if "secret" in volume:
            volume.pop("secret")
            volume["hostPath"] = {"path": str(secrets_dir), "type": "Directory"}
    claim = f"webhook-test-spool-{secrets.token_hex(4)}"
    spec["volumes"].append({"name": "spool", "persistentVolumeClaim": {"claimName": claim}})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {**template["metadata"], "name": claim}, "spec": spec}
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    played.append((path, claim))
    images.podman.run("kube", "play", "--network", NETWORK, str(path), timeout=PLAY_TIMEOUT_SECONDS)

    def healthy() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    wait_for(healthy, PLAY_TIMEOUT_SECONDS, lambda: images.podman.run("pod", "logs", claim, check=False)[-5000:])
    event = stripe_event()
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    response = requests.post(f"http://127.0.0.1:{port}/webhooks/stripe", data=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert [row[1] for row in stored_rows(clean_db)] == [event["id"]]
