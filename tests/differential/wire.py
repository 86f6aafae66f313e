"""The same bytes to two servers, and what differs between what each did with them.

One server answers in its main loop where it can (web/main_loop.py), the other with
``WEBHOOK_MAIN_LOOP=off`` (stock gthread: every request a request thread and Flask): the
reference. For a case, each gets the same segments on a new connection, a short pause between
two segments, then the client's end of the stream; everything sent back is compared, the
``Date`` lines aside: status lines, headers, bodies, the number of answers, and how the
connection ended (the server's FIN, a reset, or still open). Then the rows each stored.

A difference is confirmed by running the case again with freshly signed deliveries: timing on
a busy machine can change how a stream is cut into reads, but a real difference reproduces.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.answers import split_answers, without_date
from tests.harness.gunicorn import GunicornServer
from tests.hostile.workers import worker_pids

# Between two segments of a case: long enough that the server reads the first on its own.
PAUSE_SECONDS = 0.05
# An answer that has not come by then will not: every case ends with the client's end of the
# stream, which both servers answer by closing at once (an incomplete request included).
QUIET_SECONDS = 3.0
CONNECT_TIMEOUT_SECONDS = 5.0
# Stored rows: a request answered before the client's end of stream is committed before the
# answer; one not answered (the client left) may still be committing when the answer stream ends.
ROWS_SETTLE_SECONDS = 0.3

# What gunicorn's master and worker log when a worker dies or is replaced.
WORKER_EXIT = re.compile(rb"Exception in worker process|Worker \(pid:\d+\) (was sent|exited)|WORKER TIMEOUT")

# Set to a file name: differences are recorded there (JSON) instead of failing the test, and
# every case runs (bench/differential.py reads the file). Unset: the first difference fails.
REPORT_VARIABLE = "WEBHOOK_DIFFERENTIAL_REPORT"


@dataclass(frozen=True)
class Case:
    """A named request stream. ``make`` builds its segments when the case runs, never before:
    signatures expire (Stripe's after 300 s), and a confirming run needs fresh event ids."""

    source: str
    name: str
    make: Callable[[], Sequence[bytes]]
    shutdown: bool = True  # end the client's side of the stream after the last segment


@dataclass(frozen=True)
class Outcome:
    """What one server sent back on one connection, and how that connection ended."""

    stream: bytes  # everything received, ``Date`` lines removed
    end: str  # "eof" (the server's FIN), "reset", or "open" (nothing more within QUIET_SECONDS)
    rows: tuple[tuple, ...] = ()  # (scheme, event_id, body, status), sorted
    worker_exited: bool = False

    @property
    def statuses(self) -> list[str]:
        answers, rest = split_answers(self.stream)
        return [head.split(b"\r\n", 1)[0].decode("latin-1") for head, _ in answers] + (["(partial)"] if rest else [])

    def differences(self, reference: Outcome) -> list[str]:
        """How this outcome differs from the reference's, one line each; [] when it does not."""
        found = []
        if self.statuses != reference.statuses:
            found.append(f"answers {self.statuses} where gunicorn gave {reference.statuses}")
        elif self.stream != reference.stream:
            found.append(f"answer bytes {self.stream[:600]!r} where gunicorn sent {reference.stream[:600]!r}")
        if self.end != reference.end:
            found.append(f"connection ended {self.end} where gunicorn's ended {reference.end}")
        if self.rows != reference.rows:
            found.append(f"stored {_ids(self.rows)} where gunicorn stored {_ids(reference.rows)}")
        if self.worker_exited:
            found.append("the worker exited")
        return found


def _ids(rows: tuple[tuple, ...]) -> list[str]:
    return [f"{row[0]}/{row[1]} ({len(row[2] or b'')} bytes, {row[3]})" for row in rows]


def converse(port: int, segments: Sequence[bytes], *, shutdown: bool = True) -> tuple[bytes, str]:
    """Send ``segments`` on a new connection, ``PAUSE_SECONDS`` apart, then read until the server
    closes: what it sent, and how it ended. A reset while sending is the server's way of ending
    too (it closed with bytes unread); what it sent before is still read when the kernel has it."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT_SECONDS) as client:
        client.settimeout(QUIET_SECONDS)
        try:
            for number, segment in enumerate(segments):
                if number:
                    time.sleep(PAUSE_SECONDS)
                client.sendall(segment)
            if shutdown:
                client.shutdown(socket.SHUT_WR)
        except OSError:  # reset, or shut down already (ENOTCONN): reading below tells how it ended
            pass
        try:
            while chunk := client.recv(65536):
                received += chunk
        except ConnectionResetError:
            return without_date(received), "reset"
        except TimeoutError:
            return without_date(received), "open"
    return without_date(received), "eof"


@dataclass
class Side:
    """One of the two servers, its own database, and what was stored there before the case.
    Cases go to ``port``: the server's own, or a proxy's in front of it."""

    server: GunicornServer
    database_url: str
    port: int = 0
    workers: set[int] = field(default_factory=set)
    last_row: int = 0
    log_offset: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or self.server.port
        self.workers = worker_pids(self.server.process.pid)
        self.last_row = self._max_row()
        self.log_offset = self.server.log_offset()

    def _max_row(self) -> int:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute("SELECT coalesce(max(id), 0) FROM webhook_events").fetchone()[0]  # type: ignore[index]

    def new_rows(self) -> tuple[tuple, ...]:
        """The rows stored since the last call."""
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(
                "SELECT id, provider, event_id, body, status FROM webhook_events WHERE id > %s ORDER BY id",
                (self.last_row,),
            ).fetchall()
        if rows:
            self.last_row = rows[-1][0]
        return tuple(sorted((row[1], row[2], bytes(row[3] or b""), row[4]) for row in rows))

    def worker_exited(self) -> bool:
        """Whether a worker died since the last call: its log line (written before the worker
        exits and its connections close, so before the client saw the end), or a new pid. The
        replacement is waited for, ready and healthy, so the next case meets a server like the first."""
        since = self.log_offset
        log = self.server.log_path.read_bytes()[since:]
        self.log_offset += len(log)
        if not WORKER_EXIT.search(log) and worker_pids(self.server.process.pid) == self.workers:
            return False
        self.server.wait_ready_lines(1, since=since)
        self.server.wait_until_healthy()
        self.workers = worker_pids(self.server.process.pid)
        self.log_offset = self.server.log_offset()
        return True


@dataclass
class Ledger:
    """Every case run, and every difference found, by source: for the long run's summary."""

    cases: dict[str, int] = field(default_factory=dict)
    differences: list[dict[str, object]] = field(default_factory=list)
    unconfirmed: list[dict[str, object]] = field(default_factory=list)

    def write(self, path: Path) -> None:
        """Add this ledger to the report at ``path`` (several server pairs write to one report)."""
        report = json.loads(path.read_text()) if path.exists() else {"cases": {}, "differences": [], "unconfirmed": []}
        for source, count in self.cases.items():
            report["cases"][source] = report["cases"].get(source, 0) + count
        report["differences"] += self.differences
        report["unconfirmed"] += self.unconfirmed
        path.write_text(json.dumps(report, indent=1))


@dataclass
class Differential:
    """The main-loop server and the reference, side by side."""

    main_loop: Side
    reference: Side
    ledger: Ledger = field(default_factory=Ledger, repr=False)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, "differential"), repr=False)

    def run(self, case: Case) -> tuple[bytes, Outcome, Outcome]:
        """Send the case to both servers at once; the bytes sent and each one's outcome."""
        segments = list(case.make())
        futures = [self._pool.submit(converse, side.port, segments, shutdown=case.shutdown) for side in self]
        (stream, end), (reference_stream, reference_end) = (future.result() for future in futures)
        rows = self.main_loop.new_rows(), self.reference.new_rows()
        if rows[0] != rows[1]:  # one may still be committing a request whose client left
            time.sleep(ROWS_SETTLE_SECONDS)
            rows = rows[0] + self.main_loop.new_rows(), rows[1] + self.reference.new_rows()
        exited = self.main_loop.worker_exited(), self.reference.worker_exited()
        return (
            b"".join(segments),
            Outcome(stream, end, tuple(sorted(rows[0])), exited[0]),
            Outcome(reference_stream, reference_end, tuple(sorted(rows[1])), exited[1]),
        )

    def check(self, case: Case) -> list[str]:
        """Run ``case``; its confirmed differences (also run again to confirm), [] when none.
        With ``REPORT_VARIABLE`` set they are recorded in the ledger and nothing fails."""
        self.ledger.cases[case.source] = self.ledger.cases.get(case.source, 0) + 1
        sent, outcome, reference = self.run(case)
        found = outcome.differences(reference)
        if not found:
            return []
        _, again, again_reference = self.run(case)
        confirmed = again.differences(again_reference)
        record = {"source": case.source, "case": case.name, "sent": repr(sent[:3000]), "differences": found}
        if not confirmed:
            self.ledger.unconfirmed.append(record)
            return []
        self.ledger.differences.append(record)
        return [f"{case.source} {case.name}: sent {sent[:3000]!r}", *found]

    def assert_same(self, case: Case) -> None:
        found = self.check(case)
        if found and not os.environ.get(REPORT_VARIABLE):
            raise AssertionError("\n".join(found))

    def __iter__(self) -> Iterator[Side]:
        return iter((self.main_loop, self.reference))

    def close(self) -> None:
        self._pool.shutdown()
        with contextlib.suppress(OSError):
            report = os.environ.get(REPORT_VARIABLE)
            if report:
                self.ledger.write(Path(report))
