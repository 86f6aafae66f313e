"""Container stop benchmark: `podman stop` of a serving container under load, N times over.

Two containers of the image built from the checkout (deploy/container/Dockerfile, the image's
defaults: WEBHOOK_SHUTDOWN_CAP 10 s, WEBHOOK_DRAIN_ANNOUNCE 3 s) behind the shipped HAProxy, on
a durable Postgres, with a steady stream of signed Stripe deliveries (each a new connection).
Each round stops one container with `podman stop` (SIGTERM, SIGKILL 10 s later: podman's and
docker's default), removes it and starts its replacement on the same port; the rounds alternate
between the two. Per stop: seconds from calling `podman stop` to the exit of the container's
PID 1 (the gunicorn master; the runtime's FinishedAt) and to `podman stop`'s return, the exit
code (137 would be the SIGKILL), the deliveries sent through HAProxy meanwhile and how many failed.

    .venv/bin/python bench/container_stop.py [--stops 20] [--rate 100]

Prints a table and the maximum; exits 0 when the runs completed, whatever they measured.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.harness.containers import Container, build_image, container_url, containers
from tests.harness.gunicorn import STRIPE_SECRET
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from tests.harness.proxies import running_haproxy
from webhook_server.dev.localdb import LocalPostgres, free_port
from webhook_server.migrations import migrate

KILL_AFTER = 10
NAMES = ["app1", "app2"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    images = build_image()
    print(f"image built in {images.build_seconds:.0f} s", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="container-stop-") as scratch,
        LocalPostgres(Path(scratch) / "data") as postgres,
        containers(images.podman, images.image) as start,
    ):
        migrate(postgres.url())
        env = {"DATABASE_URL": container_url(postgres.url()), "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET}
        ports = [free_port(), free_port()]
        running: list[Container] = [start(env=env, port=port) for port in ports]
        for container in running:
            container.wait_until_healthy()
        rows = []
        with running_haproxy(Path(scratch), ports) as haproxy:
            haproxy.wait_until_checked_up(NAMES)
            with SignedLoad(haproxy.url("/webhooks/stripe"), args.rate, max_seconds=3600, senders=16) as load:
                for number in range(args.stops):
                    index = number % 2
                    old = running[index]
                    stopping, called = time.monotonic(), time.time()
                    seconds = old.stop(KILL_AFTER)
                    exited = old.finished_at() - called
                    window = [a for a in load.ledger.answers if stopping <= a.sent_at <= stopping + seconds]
                    failed = sum(1 for a in window if a.status is None or not 200 <= a.status < 300)
                    rows.append((number + 1, exited, seconds, old.exit_code(), len(window), failed))
                    print(f"stop {number + 1}: exited {exited:.2f} s, podman stop {seconds:.2f} s", flush=True)
                    old.remove()
                    running[index] = start(env=env, port=ports[index])
                    running[index].wait_until_healthy()
                    haproxy.wait_until_checked_up(NAMES)
                time.sleep(1.0)
        ledger = load.ledger
        assert_each_acknowledged_event_stored_once(ledger, postgres.url())
    print()
    print(
        "| stop | `podman stop` → PID 1 exited (s) | → `podman stop` returned (s) | exit code | deliveries | failed |"
    )
    print("|---|---|---|---|---|---|")
    for number, exited, seconds, code, sent, failed in rows:
        print(f"| {number} | {exited:.2f} | {seconds:.2f} | {code} | {sent} | {failed} |")
    exits, returns = [row[1] for row in rows], [row[2] for row in rows]
    print()
    print(
        f"PID 1 exited: max {max(exits):.2f} s, median {statistics.median(exits):.2f} s; podman stop returned: "
        f"max {max(returns):.2f} s, median {statistics.median(returns):.2f} s (SIGKILL at {KILL_AFTER} s); "
        f"exit codes {sorted({row[3] for row in rows})}; {len(ledger.acknowledged)} acknowledged, "
        f"{len(ledger.failures)} failed in the whole run, every acknowledged event stored once"
    )


if __name__ == "__main__":
    main()
