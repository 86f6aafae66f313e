"""Outage benchmark: what a 5 s Postgres outage costs the senders and the load balancer.

Three instances behind the shipped HAProxy, signed deliveries at a steady rate, Postgres
(durable, the run's own) stopped for a few seconds and started again
(tests/harness/outage.py). Prints what issue 15 asks for: ``/health`` latency during
the outage, deliveries answered per second during it, the time from Postgres back to the first
200, the slowest answer, and what HAProxy did (servers taken DOWN, requests it answered itself).

    .venv/bin/python bench/outage.py [--rate 100] [--outage 5] [--runs 1]

Exits 0 when the runs completed, whatever they measured.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.harness import outage
from tests.harness.outage import percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100, help="deliveries per second (default: %(default)s)")
    parser.add_argument("--outage", type=float, default=5, help="seconds Postgres is down (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=1, help="runs, one line each (default: %(default)s)")
    args = parser.parse_args()
    print(f"outage benchmark: 3 instances (2 x 8) behind HAProxy, {args.rate:g} deliveries/s, durable Postgres")
    print(
        "| run | outage s | /health p50 ms | p99 ms | max ms | answered/s | back→200 s | slowest s | DOWN | not ours |"
    )
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="outage-bench-") as tmp:
            result = outage.run(Path(tmp), rate=args.rate, outage_seconds=args.outage, durable=True)
        health = result.health_latencies_during_outage()
        recovery = result.first_stored_after_back()
        downs = sum(int(server["chkdown"]) for server in result.servers.values())
        print(
            f"| {number} | {result.outage_seconds:.2f} | {percentile(health, 0.5) * 1000:.1f} "
            f"| {percentile(health, 0.99) * 1000:.1f} | {max(health, default=0) * 1000:.0f} "
            f"| {len(result.answered_during_outage()) / result.outage_seconds:.0f} "
            f"| {'none' if recovery is None else f'{recovery:.2f}'} | {result.slowest():.2f} "
            f"| {downs} | {len(result.not_from_the_app())} |"
        )
        for line in result.haproxy_trouble[:3]:
            print(f"    haproxy: {line[:160]}")


if __name__ == "__main__":
    main()
