"""Failover benchmark (issue 26): what losing or moving the Postgres primary costs the senders.

A Patroni cluster from deploy/patroni (etcd, three members) on loopback, the server with its
spool, a worker and the dashboard on it (tests/harness/failover.py), signed GitHub deliveries
at a steady rate (10 s timeout, never retried). Each run makes one fault on the leader: kill -9
of its Postgres, kill -9 of its Patroni (started again after the load), a switchover. One line
per run: deliveries failed, acknowledged events missing on the new leader once everything
settled, events not handled by the worker, deliveries spooled, seconds from the fault to the
new leader and to the first commit on it, the slowest answer.

``--sync off`` is the control run: the same with asynchronous replication. ``--route
multi-host`` gives the processes libpq's multi-host URL (target_session_attrs=read-write)
instead of HAProxy's frontend.

    .venv/bin/python bench/failover.py [--runs 3] [--sync on|off] [--route haproxy|multi-host]

Exits 0 when the runs completed, whatever they measured.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.harness import failover
from tests.harness.failover import Fault, Stack
from tests.harness.patroni import running_cluster
from tests.harness.polling import wait_for
from webhook_server.migrations import migrate

SETTLE_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100, help="deliveries per second (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each fault (default: %(default)s)")
    parser.add_argument("--after", type=float, default=8, help="seconds of load after the new leader (default: 8)")
    parser.add_argument("--sync", choices=["on", "off"], default="on", help="Patroni's synchronous_mode (default: on)")
    parser.add_argument("--route", choices=["haproxy", "multi-host"], default="haproxy", help="DATABASE_URL kind")
    parser.add_argument(
        "--fault", choices=[f.name.lower() for f in Fault], action="append", help="only this fault (repeatable)"
    )
    args = parser.parse_args()
    faults = [Fault[name.upper()] for name in args.fault] if args.fault else list(Fault)
    print(
        f"failover benchmark: 3 Patroni members, synchronous_mode {args.sync}, DATABASE_URL via {args.route}, "
        f"{args.rate:g} GitHub deliveries/s, spool on"
    )
    print(
        "| fault | run | sent | failed | acked missing | unhandled | spooled | new leader s | first commit s "
        "| slowest s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    with (
        tempfile.TemporaryDirectory(prefix="failover-bench-") as tmp,
        running_cluster(Path(tmp) / "cluster") as cluster,
    ):
        migrate(cluster.database_url())
        if args.sync == "off":
            cluster.edit_config({"synchronous_mode": False})
            wait_for(lambda: cluster.sync_standby() is None, SETTLE_SECONDS, "no synchronous standby")
        url = cluster.database_url() if args.route == "haproxy" else cluster.multi_host_url()
        (Path(tmp) / "stack").mkdir()
        stack = Stack(Path(tmp) / "stack", url)
        try:
            for fault in faults:
                for number in range(1, args.runs + 1):
                    cluster.wait_until_replicating(len(cluster.members) - 1)
                    cluster.wait_until_routed()
                    result = failover.run(cluster, stack, fault, rate=args.rate, after=args.after)
                    first = result.first_commit_seconds()
                    print(
                        f"| {fault.value} | {number} | {len(result.answers)} | {len(result.failed)} "
                        f"| {len(result.missing)} | {len(result.unhandled)} | {len(result.spooled)} "
                        f"| {result.leader_seconds():.2f} | {'none' if first is None else f'{first:.2f}'} "
                        f"| {result.slowest():.2f} |",
                        flush=True,
                    )
        finally:
            stack.kill()


if __name__ == "__main__":
    main()
