"""Ingest benchmark: ours against the obvious receiver (bench/obvious_receiver.py), same run.

Both servers run at once against one durable Postgres (fsync and synchronous_commit on) and the
same ``webhook_events`` table: ours with the shipped configuration (gthread, JSON access log,
metrics), the obvious one under gunicorn gthread 2 x 8. wrk on the same machine sends
``POST /webhooks/stripe`` at one fixed concurrency, each delivery signed with the stripe SDK's
helper and every event id new, so each 200 is a verified event committed to Postgres. The runs
alternate (obvious, ours, ours, obvious, ...), each after a 3 s warm-up, so a load that drifts
on this shared machine hits both alike; one ``GET /health`` run of ours comes first.

The table lists every run, then each side's medians and ours over obvious (issue 13's targets:
at least 2x the req/s, at most 0.5x the p99). wrk is closed-loop: a slow answer also delays the
requests its connection would have sent meanwhile (coordinated omission), so the p99s are lower
bounds.

Every delivery is signed just before its run (Stripe's tolerance is 300 s) and written to one
file per wrk thread, so ids never repeat across threads or runs. At the end each server's
stored rows are checked against the 200s wrk saw: every acknowledged event must be stored.
CPU time per request of each gunicorn, of Postgres and of wrk (all on the same cores) is read
from /proc and reported too.

    .venv/bin/python bench/ingest.py [--connections 32] [--duration 15] [--rounds 2] [--workers N]
        [--threads N] [--spool] [--baseline DIR]

``--workers``, ``--threads`` and ``--spool`` (WEBHOOK_SPOOL_DIR in the run's directory: on a
healthy database no event goes there) apply to ours only. ``--baseline DIR`` serves a third side,
"before": the package from another checkout (``git archive main | tar -x -C DIR``) on the same
venv, so a change is measured against what it changes in the same run.

Exit status: 0 when the runs completed (targets missed or not: it reports, it does not judge),
1 when a run got non-2xx answers, socket errors or duplicate ids, or an acknowledged event is
missing, 2 when something could not start.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import BenchError, durable_postgres_settings, machine_busy_seconds, run_in_workdir, tail, tree_cpu_seconds

from tests.harness.gunicorn import start_logged
from webhook_server import db
from webhook_server.dev import samples
from webhook_server.dev.localdb import LocalPostgres, free_port
from webhook_server.errors import ConfigError
from webhook_server.migrations import migrate
from webhook_server.settings import Settings
from webhook_server.web.entrypoint import gunicorn_command

WRK_THREADS = 2
WARMUP_SECONDS = 3
CALIBRATION_SECONDS = 3
MAX_CALIBRATIONS = 4
# Half-peak calibration stops once the achieved rate is this close to the target.
RATE_TOLERANCE = 0.05
# A measured run signs this many times its warm-up's rate (times HEADROOM): a wrap-around fails it.
RATE_MARGIN = 2.0
# Signed deliveries per run: the expected count times this, so the files never wrap around.
HEADROOM = 1.5
HEALTH_WAIT_SECONDS = 30
# Cores kept busy by other processes during a run above which the table gets a warning.
OTHER_LOAD_WARNING = 0.1
# The shipped shutdown (a 3 s drain announce, then gunicorn's graceful stop) fits in 10 s.
STOP_WAIT_SECONDS = 15
# wrk gets its duration plus this before it is killed.
WRK_GRACE_SECONDS = 30
# The obvious receiver's gunicorn: what issue 13 measured it with.
OBVIOUS_WORKERS = 2
OBVIOUS_THREADS = 8
BENCH_DIR = Path(__file__).resolve().parent
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
   if mode == "post" then
      file = assert(io.open(args[2] .. id, "rb"))
   else
      get_request = wrk.format("GET", wrk.path)
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
    """Runs wrk against one server and keeps every POST run for the final stored-rows check.

    ``id_prefix`` starts every event id: benches that share a database each need their own.
    ``name`` labels its runs and its request files.
    """

    def __init__(
        self,
        workdir: Path,
        base_url: str,
        connections: int,
        secret: str,
        meter: CpuMeter,
        id_prefix: str = "evt_bench",
        name: str = "ours",
    ) -> None:
        self.name = name
        self.id_prefix = id_prefix
        self.workdir = workdir
        self.base_url = base_url
        self.connections = connections
        self.secret = secret
        self.meter = meter
        self.script = workdir / "ingest.lua"
        if not self.script.exists():
            self.script.write_text(LUA_SCRIPT)
        self.post_runs: list[Run] = []
        self._event_numbers = itertools.count()
        self._file_numbers = itertools.count()

    def health(self, seconds: int) -> Run:
        return self._wrk("/health", seconds, "get", "-", 0.0)

    def prepare(self, seconds: float, rate_bound: float) -> str:
        """Sign enough deliveries with new ids for ``seconds`` at ``rate_bound``; return the file prefix."""
        count = math.ceil(rate_bound * seconds * HEADROOM) + 2 * self.connections
        prefix = str(self.workdir / f"requests-{self.name}-{next(self._file_numbers)}-")
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
        event = samples.stripe_event(event_id=f"{self.id_prefix}{next(self._event_numbers):015d}")
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


def run_round(bench: Bench, duration: int, rate_bound: float) -> Run:
    """A warm-up, then one measured POST run; the warm-up's rate bounds how many deliveries to sign."""
    warmup = bench.post(bench.prepare(WARMUP_SECONDS, rate_bound), WARMUP_SECONDS)
    say(f"{bench.name}: signed POST for {duration} s (warm-up {warmup.rps:.0f} req/s)")
    return bench.post(bench.prepare(duration, RATE_MARGIN * warmup.rps), duration)


def run_alternating(benches: list[Bench], rounds: int, duration: int, rate_bound: float) -> dict[str, list[Run]]:
    """``rounds`` measured runs of each, in ABBA order so that a drifting load hits both alike."""
    runs: dict[str, list[Run]] = {bench.name: [] for bench in benches}
    for number in range(rounds):
        for bench in benches if number % 2 == 0 else reversed(benches):
            runs[bench.name].append(run_round(bench, duration, rate_bound))
    return runs


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
    """The production command line (for bench/prune.py and bench/fleet.py); logs go to ``log_path``."""
    return start_server(gunicorn_command(), env, log_path, Path.cwd())


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


def stored_rows(url: str, event_id_prefix: str) -> int:
    with db.connect(url) as conn:
        query = "SELECT count(*) FROM webhook_events WHERE provider = 'stripe' AND event_id LIKE %s"
        return conn.execute(query, (event_id_prefix + "%",)).fetchone()[0]


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


def obvious_command(port: int) -> list[str]:
    """gunicorn as the obvious receiver's author runs it: gthread 2 x 8, defaults otherwise.

    Started from bench/ (start_server's ``cwd``): gunicorn reads ./gunicorn.conf.py by default,
    and the checkout's is ours."""
    script = Path(sys.executable).parent / "gunicorn"
    return [
        *(str(script), "-k", "gthread", "-w", str(OBVIOUS_WORKERS), "--threads", str(OBVIOUS_THREADS)),
        *("-b", f"127.0.0.1:{port}", "obvious_receiver:app"),
    ]


def start_server(command: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """``command`` with its logs (ours: a JSON line per request) going to ``log_path``."""
    return start_logged(command, log_path, env=env, cwd=cwd)  # Ctrl-C reaches only us: we stop it in order


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data") as postgres, contextlib.ExitStack() as servers:
        migrate(postgres.url())
        pg = durable_postgres_settings(postgres.url())
        secret = f"whsec_bench_{secrets.token_hex(16)}"
        ours_port, obvious_port = free_port(), free_port()
        env = server_env(args, postgres.url(), ours_port, secret, workdir)
        settings = Settings.from_env(env)
        postmaster = postmaster_pid(postgres)
        sides = [
            ("obvious", obvious_command(obvious_port), obvious_port, env, BENCH_DIR),
            ("ours", gunicorn_command(), ours_port, env, Path.cwd()),
        ]
        if args.baseline is not None:
            # The same venv's gunicorn, importing webhook_server from the other checkout first.
            before_port = free_port()
            before_env = {
                **server_env(args, postgres.url(), before_port, secret, workdir / "before"),
                "PYTHONPATH": str(args.baseline),
            }
            # Its own `webhook-server serve`, so its own gunicorn configuration and target (names move).
            serve = [sys.executable, "-c", "from webhook_server.cli import run; run()", "serve"]
            sides.insert(1, ("before", serve, before_port, before_env, args.baseline))
        benches = []
        for name, command, port, side_env, cwd in sides:
            log_path = workdir / f"{name}.log"
            say(f"starting {name} on 127.0.0.1:{port}")
            server = start_server(command, side_env, log_path, cwd)
            servers.callback(stop_gunicorn, server)  # before counting: requests in flight finish first
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(server, base_url + "/health", log_path)
            meter = CpuMeter({"gunicorn": server.pid, "postgres": postmaster})
            benches.append(Bench(workdir, base_url, args.connections, secret, meter, f"evt_bench_{name}_", name))
        ours = benches[-1]
        say(f"ours: GET /health, {WARMUP_SECONDS} s warm-up, then {args.duration} s")
        ours.health(WARMUP_SECONDS)
        health = ours.health(args.duration)
        # No POST outruns /health on the same stack: its rate bounds each warm-up's deliveries.
        runs = run_alternating(benches, args.rounds, args.duration, health.rps)
        servers.close()
        rows = {bench.name: stored_rows(postgres.url(), bench.id_prefix) for bench in benches}
    print(
        f"ingest benchmark: obvious receiver (gthread {OBVIOUS_WORKERS} x {OBVIOUS_THREADS}) against ours "
        f"(shipped config, {settings.workers} workers x {settings.threads} threads, spool "
        f"{'on' if settings.spool_dir else 'off'}); durable Postgres {pg['server_version']} (fsync={pg['fsync']}, "
        f"synchronous_commit={pg['synchronous_commit']}); wrk -t{WRK_THREADS} -c{args.connections} "
        f"-d{args.duration}s, {args.rounds} alternated rounds; {os.cpu_count()} cores; load before: {_loadavg()}"
    )
    print_table(runs, health)
    problems = [
        *itertools.chain.from_iterable(check_rows(bench, rows[bench.name]) for bench in benches),
        *(f"ours: GET /health had {health.non_2xx} non-2xx and {health.socket_errors} socket errors",) * health.failed,
    ]
    print_notes(runs, health)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def print_table(runs: dict[str, list[Run]], health: Run) -> None:
    """Every measured run in the order it ran, then each side's median and ours over obvious."""
    print(
        f"| {'run':<16} | {'req/s':>7} | {'p50 ms':>6} | {'p99 ms':>6} | {'CPU us/req: gunicorn':>20} "
        f"| {'postgres':>8} | {'wrk':>5} | {'other load':>10} |"
    )
    labelled = [(f"{name} {i + 1}", run) for name, named in runs.items() for i, run in enumerate(named)]
    for label, run in [("ours GET /health", health), *labelled]:
        print(
            f"| {label:<16} | {run.rps:>7.0f} | {run.p50_ms:>6.2f} | {run.p99_ms:>6.2f} "
            f"| {run.cpu_us_per_request('gunicorn'):>20.0f} | {run.cpu_us_per_request('postgres'):>8.0f} "
            f"| {run.cpu_us_per_request('wrk'):>5.0f} | {run.cpu['other'] / run.seconds:>10.2f} |"
        )
    medians = {name: _medians(named) for name, named in runs.items()}
    print(f"\n| {'median':<16} | {'req/s':>7} | {'p50 ms':>6} | {'p99 ms':>6} |")
    for name, (rps, p50, p99) in medians.items():
        print(f"| {name:<16} | {rps:>7.0f} | {p50:>6.2f} | {p99:>6.2f} |")
    o_rps, o_p50, o_p99 = medians["obvious"]
    for name in (name for name in medians if name != "obvious"):
        rps, p50, p99 = medians[name]
        label = f"{name} / obvious"
        print(f"| {label:<16} | {rps / o_rps:>6.2f}x | {p50 / o_p50:>5.2f}x | {p99 / o_p99:>5.2f}x |")
    print(
        f"ours POST / ours GET /health: {medians['ours'][0] / health.rps:.2f}; "
        "issue 13's targets for ours / obvious: req/s >= 2x, p99 <= 0.5x"
    )


def _medians(runs: list[Run]) -> tuple[float, float, float]:
    return (
        statistics.median(run.rps for run in runs),
        statistics.median(run.p50_ms for run in runs),
        statistics.median(run.p99_ms for run in runs),
    )


def check_rows(bench: Bench, rows: int) -> list[str]:
    """Every acknowledged event of ``bench``'s server is stored, and nothing it could not have sent."""
    acknowledged = sum(run.ok - run.duplicates for run in bench.post_runs)
    in_flight = sum(run.sent - run.answered for run in bench.post_runs)
    print(
        f"{bench.name}: stored rows {rows:,} of {acknowledged:,} acknowledged (+{in_flight:,} unanswered when wrk "
        f"stopped may be stored too; warm-ups included)"
    )
    problems = []
    if rows < acknowledged:
        problems.append(f"{bench.name}: {acknowledged - rows:,} acknowledged events are not stored")
    if rows > acknowledged + in_flight:
        problems.append(f"{bench.name}: {rows - acknowledged - in_flight:,} more rows than POSTs that could be stored")
    problems.extend(
        f"{bench.name}: a run had {run.non_2xx} non-2xx, {run.socket_errors} socket errors, {run.duplicates} "
        f"duplicates and {run.wraps} request-file wrap-arounds"
        for run in bench.post_runs
        if run.failed
    )
    return problems


def print_notes(runs: dict[str, list[Run]], health: Run) -> None:
    print(
        "note: wrk is closed-loop (coordinated omission): every p99 is a lower bound\n"
        "note: CPU us/req of postgres is the whole server's; other load = the rest of this machine, in cores"
    )
    other = max(run.cpu["other"] / run.seconds for run in (health, *itertools.chain(*runs.values())))
    if other > OTHER_LOAD_WARNING:
        print(f"WARNING: other processes kept up to {other:.2f} cores busy during a run: compare alternated runs only")


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def postmaster_pid(postgres: LocalPostgres) -> int:
    return int((postgres.data_dir / "postmaster.pid").read_text().split()[0])


def say(message: str) -> None:
    print(f"[ingest] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32, help="wrk connections, all runs (default 32)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="measured runs of each server, alternated (default 2)")
    parser.add_argument("--workers", type=int, help="WEBHOOK_WORKERS (default: the shipped config's)")
    parser.add_argument("--threads", type=int, help="WEBHOOK_THREADS (default: the shipped config's)")
    parser.add_argument("--spool", action="store_true", help="WEBHOOK_SPOOL_DIR set (default: unset)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (git worktree or git archive) served too, as 'before', in the same alternation",
    )
    args = parser.parse_args()
    if args.connections < WRK_THREADS or args.duration < 1 or args.rounds < 1:
        parser.error(f"--connections must be at least {WRK_THREADS}, --duration and --rounds at least 1")
    return args


def main() -> int:
    args = parse_args()
    return run_in_workdir(
        "ingest", lambda workdir: benchmark(args, workdir), needs_wrk=True, setup_errors=(ConfigError,)
    )


if __name__ == "__main__":
    sys.exit(main())
