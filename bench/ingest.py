"""Ingest benchmark: how close a durable, signed webhook gets to the cost of a bare ``/health``.

One gunicorn with the shipped ``gunicorn.conf.py`` (gthread, JSON access log) runs against its
own durable Postgres (fsync and synchronous_commit on). wrk on the same machine measures, at
one fixed concurrency and in one run:

(a) ``GET /health``: the stack's floor, no database and no signature;
(b) ``POST /webhooks/stripe``, signed with the stripe SDK's helper, every event id new, so each
    200 is a verified event committed to Postgres;
(c) the same POST at about half of (b)'s rate, for the latency an ordinary load sees.

The issue's targets: (b)/(a) >= 0.8, and a p99 under 10 ms in (c). wrk is closed-loop: a slow
answer also delays the requests its connection would have sent meanwhile (coordinated
omission), so the p99s are lower bounds. For (c), wrk's ``delay()`` hook makes each connection
wait a random time (mean calibrated with short runs) before each request.

Every delivery is signed just before its run (Stripe's tolerance is 300 s) and written to one
file per wrk thread, so ids never repeat across threads or runs. At the end the table's
``webhook_events`` rows are checked against the 200s wrk saw: every acknowledged event must be
stored. CPU time per request of gunicorn, Postgres and wrk (all on the same cores) is read from
/proc and reported too.

    .venv/bin/python bench/ingest.py [--connections 32] [--duration 15] [--workers N] [--threads N] [--spool]

``--spool`` turns the local spool on (WEBHOOK_SPOOL_DIR in the run's directory): on a healthy
database no event goes there, and alternating runs with and without it show what the happy path
pays for having it (a drainer per worker that looks at the SQLite file once a second).

Exit status: 0 when the runs completed (targets missed or not: it reports, it does not judge),
1 when a run got non-2xx answers, socket errors or duplicate ids, or an acknowledged event is
missing, 2 when something could not start.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import BenchError, durable_postgres_settings, machine_busy_seconds, tail, tree_cpu_seconds

from webhook_server import db
from webhook_server.dev import samples
from webhook_server.dev.localdb import LocalPostgres, LocalPostgresError, free_port
from webhook_server.errors import ConfigError
from webhook_server.migrations import migrate
from webhook_server.serving.entrypoint import gunicorn_command
from webhook_server.settings import Settings

WRK_THREADS = 2
WARMUP_SECONDS = 3
CALIBRATION_SECONDS = 3
MAX_CALIBRATIONS = 4
# Half-peak calibration stops once the achieved rate is this close to the target.
RATE_TOLERANCE = 0.05
# Signed deliveries per run: the expected count times this, so the files never wrap around.
HEADROOM = 1.5
HEALTH_WAIT_SECONDS = 30
# Cores kept busy by other processes during a run above which the table gets a warning.
OTHER_LOAD_WARNING = 0.1
# The shipped shutdown (a 3 s drain announce, then gunicorn's graceful stop) fits in 10 s.
STOP_WAIT_SECONDS = 15
# wrk gets its duration plus this before it is killed.
WRK_GRACE_SECONDS = 30
POST_PATH = "/webhooks/stripe"

# wrk arguments after "--": mode ("get" or "post"), the request file prefix (post), the mean
# delay in ms before each request (0: none). A request file holds records of one line
# "<body length>\t<Name: value>\t<Name: value>\n" followed by exactly the body bytes that were signed.
LUA_SCRIPT = r"""
local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

sent, answered, ok, duplicates, wraps = 0, 0, 0, 0, 0
local mode, file, get_request

local function next_post()
   local line = file:read("*l")
   if line == nil then
      wraps = wraps + 1
      file:seek("set", 0)
      line = assert(file:read("*l"), "empty request file")
   end
   local length, fields = line:match("^(%d+)\t(.*)$")
   local headers = {}
   for name, value in fields:gmatch("([^\t:]+): ([^\t]*)") do
      headers[name] = value
   end
   return wrk.format("POST", wrk.path, headers, file:read(tonumber(length)))
end

function init(args)
   mode = args[1]
   local mean_delay = tonumber(args[3])
   math.randomseed(os.time() + id)
   if mode == "post" then
      file = assert(io.open(args[2] .. id, "rb"))
   else
      get_request = wrk.format("GET", wrk.path)
   end
   if mean_delay > 0 then
      -- Uniform in [0, 2 x mean]: connections drift apart instead of firing in lockstep.
      function delay()
         return math.random() * 2 * mean_delay
      end
   end
end

function request()
   sent = sent + 1
   if mode == "post" then
      return next_post()
   end
   return get_request
end

function response(status, headers, body)
   answered = answered + 1
   if status >= 200 and status < 300 then
      ok = ok + 1
      if body:find('"duplicate":%s*true') then
         duplicates = duplicates + 1
      end
   end
end

function done(summary, latency, requests)
   local totals = {sent = 0, answered = 0, ok = 0, duplicates = 0, wraps = 0}
   for _, thread in ipairs(threads) do
      for key, value in pairs(totals) do
         totals[key] = value + thread:get(key)
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "socket_errors": %d, '
         .. '"sent": %d, "answered": %d, "ok": %d, "duplicates": %d, "wraps": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      errors.connect + errors.read + errors.write + errors.timeout,
      totals.sent, totals.answered, totals.ok, totals.duplicates, totals.wraps))
end
"""


@dataclass(frozen=True)
class Run:
    """One wrk invocation: wrk's own numbers, the Lua hooks' counts, and CPU seconds by process."""

    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    socket_errors: int
    sent: int
    answered: int
    ok: int
    duplicates: int
    wraps: int
    cpu: dict[str, float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def non_2xx(self) -> int:
        return self.answered - self.ok

    @property
    def failed(self) -> bool:
        return bool(self.non_2xx or self.socket_errors or self.duplicates or self.wraps)

    def cpu_us_per_request(self, group: str) -> float:
        return self.cpu[group] / max(self.requests, 1) * 1e6


class CpuMeter:
    """CPU seconds of process trees (from /proc), of wrk (a reaped child of ours) and of the rest.

    "other" is whatever else kept this machine's cores busy (steal included): another process
    competing for the same cores makes every number here worse, so the table shows it.
    """

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots

    def snapshot(self) -> dict[str, float]:
        totals = {group: tree_cpu_seconds([root]) for group, root in self.roots.items()}
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        totals["wrk"] = usage.ru_utime + usage.ru_stime
        totals["machine"] = machine_busy_seconds()
        return totals

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        spent = {group: after[group] - before[group] for group in after}
        machine = spent.pop("machine")
        spent["other"] = max(0.0, machine - sum(spent.values()))
        return spent


class Bench:
    """Runs wrk against one server and keeps every POST run for the final stored-rows check."""

    def __init__(self, workdir: Path, base_url: str, connections: int, secret: str, meter: CpuMeter) -> None:
        self.workdir = workdir
        self.base_url = base_url
        self.connections = connections
        self.secret = secret
        self.meter = meter
        self.script = workdir / "ingest.lua"
        self.script.write_text(LUA_SCRIPT)
        self.post_runs: list[Run] = []
        self._event_numbers = itertools.count()
        self._file_numbers = itertools.count()

    def health(self, seconds: int) -> Run:
        return self._wrk("/health", seconds, "get", "-", 0.0)

    def prepare(self, seconds: float, rate_bound: float) -> str:
        """Sign enough deliveries with new ids for ``seconds`` at ``rate_bound``; return the file prefix."""
        count = math.ceil(rate_bound * seconds * HEADROOM) + 2 * self.connections
        prefix = str(self.workdir / f"requests-{next(self._file_numbers)}-")
        say(f"signing {count:,} Stripe deliveries with new event ids")
        for thread in range(WRK_THREADS):
            with open(f"{prefix}{thread}", "wb") as out:
                for _ in range(math.ceil(count / WRK_THREADS)):
                    out.write(self._record())
        return prefix

    def post(self, prefix: str, seconds: int, delay_ms: float = 0.0) -> Run:
        run = self._wrk(POST_PATH, seconds, "post", prefix, delay_ms)
        for thread in range(WRK_THREADS):
            Path(f"{prefix}{thread}").unlink()
        self.post_runs.append(run)
        return run

    def _record(self) -> bytes:
        event = samples.stripe_event(event_id=f"evt_bench{next(self._event_numbers):015d}")
        body, headers = samples.signed_stripe_request(event, self.secret)
        fields = [str(len(body)), *(f"{name}: {value}" for name, value in headers.items())]
        if any(char in field for field in fields for char in "\t\n"):
            raise BenchError(f"a header cannot go into the request file: {headers}")
        return "\t".join(fields).encode() + b"\n" + body

    def _wrk(self, path: str, seconds: int, mode: str, prefix: str, delay_ms: float) -> Run:
        command = [
            *("wrk", f"-t{WRK_THREADS}", f"-c{self.connections}", f"-d{seconds}s", "-s", str(self.script)),
            *(self.base_url + path, "--", mode, prefix, f"{delay_ms:.3f}"),
        ]
        before = self.meter.snapshot()
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=seconds + WRK_GRACE_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            raise BenchError(
                f"wrk did not finish within {seconds + WRK_GRACE_SECONDS} s: {' '.join(command)}"
            ) from None
        cpu = CpuMeter.delta(before, self.meter.snapshot())
        lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
        if result.returncode != 0 or not lines:
            raise BenchError(f"wrk failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
        return _parse_run(lines[-1].removeprefix("BENCH "), cpu)


def _parse_run(line: str, cpu: dict[str, float]) -> Run:
    numbers: dict[str, Any] = json.loads(line)
    return Run(
        seconds=numbers.pop("duration_us") / 1e6,
        p50_ms=numbers.pop("p50_us") / 1000,
        p99_ms=numbers.pop("p99_us") / 1000,
        # wrk calls request() once before the run, to check the script, and never sends that one.
        sent=numbers.pop("sent") - 1,
        cpu=cpu,
        **numbers,
    )


@dataclass(frozen=True)
class Results:
    health: Run
    peak: Run
    half: Run
    half_target: float
    half_delay_ms: float


def run_loads(bench: Bench, duration: int) -> Results:
    say(f"GET /health: {WARMUP_SECONDS} s warm-up, then {duration} s")
    bench.health(WARMUP_SECONDS)
    health = bench.health(duration)
    # No POST outruns /health on the same stack: its rate bounds how many deliveries to sign.
    warmup, measured = bench.prepare(WARMUP_SECONDS, health.rps), bench.prepare(duration, health.rps)
    say(f"signed POST: {WARMUP_SECONDS} s warm-up, then {duration} s")
    bench.post(warmup, WARMUP_SECONDS)
    peak = bench.post(measured, duration)
    target = peak.rps / 2
    delay_ms = calibrate_delay(bench, target)
    say(f"signed POST at ~{target:.0f} req/s (mean delay {delay_ms:.1f} ms per connection): {duration} s")
    half = bench.post(bench.prepare(duration, peak.rps), duration, delay_ms)
    return Results(health, peak, half, target, delay_ms)


def calibrate_delay(bench: Bench, target: float) -> float:
    """The mean per-connection delay that paces ``bench.connections`` connections to ``target`` req/s.

    Each connection's cycle is its delay plus the request's own time; short runs measure the
    latter and correct the delay (the first run doubles as the warm-up).
    """
    cycle_ms = bench.connections / target * 1000
    delay_ms = cycle_ms
    for attempt in range(1, MAX_CALIBRATIONS + 1):
        run = bench.post(bench.prepare(CALIBRATION_SECONDS, target), CALIBRATION_SECONDS, delay_ms)
        say(f"calibration {attempt}: mean delay {delay_ms:.1f} ms → {run.rps:.0f} req/s (target {target:.0f})")
        if abs(run.rps - target) <= RATE_TOLERANCE * target:
            break
        request_ms = bench.connections / run.rps * 1000 - delay_ms
        delay_ms = max(0.0, cycle_ms - request_ms)
    return delay_ms


def start_gunicorn(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """The production command line; its JSON logs (a line per request) go to ``log_path``."""
    with open(log_path, "wb") as log:
        # Its own session: Ctrl-C reaches only us, and we stop it in order.
        return subprocess.Popen(
            gunicorn_command(), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_healthy(server: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + HEALTH_WAIT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"gunicorn exited with status {server.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer 200 within {HEALTH_WAIT_SECONDS} s:\n{tail(log_path)}")


def stop_gunicorn(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the shipped drain and graceful stop), then SIGKILL to its process group."""
    if server.poll() is None:
        server.terminate()
    try:
        server.wait(STOP_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(STOP_WAIT_SECONDS)


def stored_rows(url: str) -> int:
    with db.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM webhook_events WHERE provider = 'stripe'").fetchone()[0]


def server_env(args: argparse.Namespace, database_url: str, port: int, secret: str, workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STRIPE_WEBHOOK_SECRET": secret,
        "WEBHOOK_BIND": f"127.0.0.1:{port}",
    }
    if args.workers is not None:
        env["WEBHOOK_WORKERS"] = str(args.workers)
    if args.threads is not None:
        env["WEBHOOK_THREADS"] = str(args.threads)
    if args.spool:
        env["WEBHOOK_SPOOL_DIR"] = str(workdir / "spool")
    return env


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data", durable=True) as postgres:
        migrate(postgres.url())
        pg = durable_postgres_settings(postgres.url())
        port, secret = free_port(), f"whsec_bench_{secrets.token_hex(16)}"
        env = server_env(args, postgres.url(), port, secret, workdir)
        settings = Settings.from_env(env)
        log_path = workdir / "gunicorn.log"
        say(f"starting gunicorn ({settings.workers} workers x {settings.threads} threads) on 127.0.0.1:{port}")
        server = start_gunicorn(env, log_path)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(server, base_url + "/health", log_path)
            meter = CpuMeter({"gunicorn": server.pid, "postgres": _postmaster_pid(postgres)})
            bench = Bench(workdir, base_url, args.connections, secret, meter)
            results = run_loads(bench, args.duration)
        finally:
            stop_gunicorn(server)  # before counting: requests still in flight finish first
        rows = stored_rows(postgres.url())
    print(
        f"ingest benchmark (gunicorn {settings.workers} workers x {settings.threads} threads, durable Postgres "
        f"{pg['server_version']} (fsync={pg['fsync']}, synchronous_commit={pg['synchronous_commit']}), "
        f"wrk -t{WRK_THREADS} -c{args.connections} -d{args.duration}s, {os.cpu_count()} cores, "
        f"spool {'on' if settings.spool_dir else 'off'})"
    )
    print_table(results)
    return 1 if print_checks(results, rows, bench.post_runs) else 0


def print_table(results: Results) -> None:
    rows = [
        ("GET /health", results.health),
        ("signed POST /webhooks/stripe", results.peak),
        (f"POST at ~half peak ({results.half_target:.0f} req/s)", results.half),
    ]
    print(
        f"| {'load':<34} | {'req/s':>7} | {'p50 ms':>6} | {'p99 ms':>6} | {'non-2xx':>7} | {'sock err':>8} "
        f"| {'CPU us/req: gunicorn':>20} | {'postgres':>8} | {'wrk':>5} | {'cores busy':>10} | {'other load':>10} |"
    )
    for label, run in rows:
        busy = sum(run.cpu[group] for group in ("gunicorn", "postgres", "wrk")) / run.seconds
        print(
            f"| {label:<34} | {run.rps:>7.0f} | {run.p50_ms:>6.2f} | {run.p99_ms:>6.2f} | {run.non_2xx:>7} "
            f"| {run.socket_errors:>8} | {run.cpu_us_per_request('gunicorn'):>20.0f} "
            f"| {run.cpu_us_per_request('postgres'):>8.0f} | {run.cpu_us_per_request('wrk'):>5.0f} | {busy:>10.2f} "
            f"| {run.cpu['other'] / run.seconds:>10.2f} |"
        )


def print_checks(results: Results, rows: int, post_runs: list[Run]) -> list[str]:
    """The targets, the stored-rows check and the notes; returns what made the benchmark invalid."""
    ratio = results.peak.rps / results.health.rps
    print(
        f"ratio POST/health: {ratio:.2f} (target >= 0.80); "
        f"p99 at half peak: {results.half.p99_ms:.1f} ms (target < 10 ms)"
    )
    acknowledged = sum(run.ok - run.duplicates for run in post_runs)
    in_flight = sum(run.sent - run.answered for run in post_runs)
    print(
        f"stored rows: {rows:,} of {acknowledged:,} acknowledged "
        f"(+{in_flight:,} POSTs unanswered when wrk stopped may be stored too; "
        f"{sum(run.sent for run in post_runs):,} POSTs in all, warm-ups and calibration included)"
    )
    problems = []
    if rows < acknowledged:
        problems.append(f"{acknowledged - rows:,} acknowledged events are not stored")
    if rows > acknowledged + in_flight:
        problems.append(f"{rows - acknowledged - in_flight:,} more rows than POSTs that could have been stored")
    problems.extend(
        f"a run had {run.non_2xx} non-2xx, {run.socket_errors} socket errors, {run.duplicates} duplicates "
        f"and {run.wraps} request-file wrap-arounds"
        for run in (results.health, *post_runs)
        if run.failed
    )
    print(
        f"note: half peak: each connection waits a random {results.half_delay_ms:.1f} ms on average before each "
        "request\nnote: wrk is closed-loop (coordinated omission): every p99 is a lower bound\n"
        "note: cores busy = gunicorn + Postgres + wrk; other load = the rest of this machine, in cores"
    )
    other = max(run.cpu["other"] / run.seconds for run in (results.health, results.peak, results.half))
    if other > OTHER_LOAD_WARNING:
        print(f"WARNING: other processes kept up to {other:.2f} cores busy during a run: the numbers are disturbed")
    for problem in problems:
        print(f"FAILED: {problem}")
    return problems


def _postmaster_pid(postgres: LocalPostgres) -> int:
    return int((postgres.data_dir / "postmaster.pid").read_text().split()[0])


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def say(message: str) -> None:
    print(f"[ingest] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32, help="wrk connections, all runs (default 32)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run (default 15)")
    parser.add_argument("--workers", type=int, help="WEBHOOK_WORKERS (default: the shipped config's)")
    parser.add_argument("--threads", type=int, help="WEBHOOK_THREADS (default: the shipped config's)")
    parser.add_argument("--spool", action="store_true", help="WEBHOOK_SPOOL_DIR set (default: unset)")
    args = parser.parse_args()
    if args.connections < WRK_THREADS or args.duration < 1:
        parser.error(f"--connections must be at least {WRK_THREADS} and --duration at least 1")
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # stop as on Ctrl-C: clean up first
    if shutil.which("wrk") is None:
        say("wrk is not installed: apt-get install wrk")
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="ingest-bench-") as workdir:
            return benchmark(args, Path(workdir))
    except (BenchError, ConfigError, LocalPostgresError) as exc:
        say(f"failed: {exc}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
