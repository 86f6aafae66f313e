"""Real nginx and HAProxy in front of test instances, from the shipped configs in deploy/.

The configs are rendered, not copied: the shipped file is read and only what cannot work in a
test is substituted (ports, the runtime socket, paths, privileges, the certificate). A
substitution that no longer matches fails loudly, so the tests cannot drift into checking a
config nobody ships. Both proxies listen on 127.0.0.1 only and are stopped, with their whole
process group, on exit.

The shipped configs terminate TLS. Given a ``Certificate`` (the TLS tests make one with
openssl), the render keeps TLS with that certificate and the proxy is spoken to over https;
without one, the TLS settings are taken out and it listens in plain HTTP, so the tests of
everything else need no certificate.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.harness.gunicorn import start_logged
from webhook_server.dev.localdb import free_port
from webhook_server.rollout.haproxy import RuntimeAPI

NGINX = "/usr/sbin/nginx"
HAPROXY = "/usr/sbin/haproxy"
# The shipped configurations live in the checkout (deploy/), beside the package.
CHECKOUT = Path(__file__).resolve().parents[2]
SHIPPED_NGINX = CHECKOUT / "deploy" / "nginx" / "webhook-server.conf"
SHIPPED_HAPROXY = CHECKOUT / "deploy" / "haproxy" / "haproxy.cfg"
HAPROXY_BACKEND = "webhook_server"
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0

NGINX_SERVER_LINE = re.compile(r"^(?P<indent>[ \t]*)server 127\.0\.0\.1:\d+(?P<options>[^;\n]*);\n", re.MULTILINE)
HAPROXY_SERVER_LINE = re.compile(
    r"^(?P<indent>[ \t]*)server (?P<prefix>[a-z_]+)\d+ 127\.0\.0\.1:\d+(?P<options>[^\n]*)\n", re.MULTILINE
)
# Keeps a test independent of the haproxy user and of /var/lib/haproxy; the rest of `global` stays.
HAPROXY_PRIVILEGE_LINES = re.compile(r"^[ \t]*(chroot|user|group) \S+\n", re.MULTILINE)
NGINX_LISTEN = "listen 443 ssl;"
NGINX_TLS_LINES = re.compile(r"^[ \t]*ssl_[a-z_]+ [^;\n]+;\n", re.MULTILINE)
NGINX_CERTIFICATE = re.compile(r"^(?P<indent>[ \t]*)ssl_certificate(?P<key>_key)? \S+;\n", re.MULTILINE)
HAPROXY_BIND = re.compile(r"^(?P<indent>[ \t]*)bind :443 ssl crt \S+(?P<options>[^\n]*)\n", re.MULTILINE)

# nginx's main config around the shipped snippet, which expects to be included inside `http {}`.
NGINX_MAIN = """\
daemon off;
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
    worker_connections 512;
}}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/webhook-server.conf;
}}
"""


class ConfigDrift(AssertionError):
    """The shipped config no longer contains what the renderer substitutes."""


@dataclass(frozen=True)
class Certificate:
    """A certificate and its key, PEM files; ``combined`` is both in one file, as HAProxy takes them."""

    cert: Path
    key: Path
    combined: Path


def _substitute(
    text: str, pattern: re.Pattern[str], replacement: Callable[[re.Match[str]], str], expected: int, source: Path
) -> str:
    text, count = pattern.subn(replacement, text)
    if count != expected:
        raise ConfigDrift(
            f"{source}: expected {expected} lines matching {pattern.pattern!r}, found {count}; "
            "update tests/harness/proxies.py with the config"
        )
    return text


def _replace_once(text: str, old: str, new: str, source: Path) -> str:
    if text.count(old) != 1:
        raise ConfigDrift(f"{source}: expected {old!r} exactly once; update tests/harness/proxies.py with the config")
    return text.replace(old, new)


def _replace_servers(
    text: str,
    pattern: re.Pattern[str],
    ports: Sequence[int],
    line: Callable[[re.Match[str], int, int], str],
    source: Path,
) -> str:
    """Put one server line per port where the shipped server lines were, with the first one's options."""
    first = pattern.search(text)
    if first is None:
        raise ConfigDrift(f"{source}: no server lines matching {pattern.pattern!r}; update tests/harness/proxies.py")
    servers = iter(["".join(line(first, number, port) for number, port in enumerate(ports, start=1))])
    return pattern.sub(lambda _: next(servers, ""), text)


def render_nginx(
    directory: Path, listen_port: int, upstream_ports: Sequence[int], tls: Certificate | None = None
) -> Path:
    """Write the shipped snippet with test ports and a main config around it; return the main config."""
    snippet = SHIPPED_NGINX.read_text()
    listen = f"listen 127.0.0.1:{listen_port}{' ssl' if tls else ''};"
    snippet = _replace_once(snippet, NGINX_LISTEN, listen, SHIPPED_NGINX)
    if tls:
        paths = {"": tls.cert, "_key": tls.key}
        snippet = _substitute(
            snippet,
            NGINX_CERTIFICATE,
            lambda m: f"{m['indent']}ssl_certificate{m['key'] or ''} {paths[m['key'] or '']};\n",
            2,
            SHIPPED_NGINX,
        )
    else:
        snippet = _substitute(snippet, NGINX_TLS_LINES, lambda _: "", 6, SHIPPED_NGINX)
    snippet = _replace_servers(
        snippet,
        NGINX_SERVER_LINE,
        upstream_ports,
        lambda first, _, port: f"{first['indent']}server 127.0.0.1:{port}{first['options']};\n",
        SHIPPED_NGINX,
    )
    (directory / "webhook-server.conf").write_text(snippet)
    # As root nginx would run its workers as nobody, who cannot enter pytest's private temp dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = directory / "nginx.conf"
    main.write_text(NGINX_MAIN.format(dir=directory, user=user))
    return main


def render_haproxy(
    directory: Path, listen_port: int, server_ports: Sequence[int], tls: Certificate | None = None
) -> tuple[Path, Path]:
    """Write the shipped config with test ports and socket; return it and the runtime API socket."""
    config = SHIPPED_HAPROXY.read_text()
    config = _substitute(
        config,
        HAPROXY_BIND,
        lambda m: (
            f"{m['indent']}bind 127.0.0.1:{listen_port}" + (f" ssl crt {tls.combined}{m['options']}\n" if tls else "\n")
        ),
        1,
        SHIPPED_HAPROXY,
    )
    stats_socket = directory / "admin.sock"
    config = _replace_once(
        config, "stats socket /run/haproxy/admin.sock ", f"stats socket {stats_socket} ", SHIPPED_HAPROXY
    )
    config, dropped = HAPROXY_PRIVILEGE_LINES.subn("", config)
    if dropped != 3:
        raise ConfigDrift(f"{SHIPPED_HAPROXY}: expected chroot, user and group lines, found {dropped}")
    config = _replace_servers(
        config,
        HAPROXY_SERVER_LINE,
        server_ports,
        lambda first, number, port: (
            f"{first['indent']}server {first['prefix']}{number} 127.0.0.1:{port}{first['options']}\n"
        ),
        SHIPPED_HAPROXY,
    )
    path = directory / "haproxy.cfg"
    path.write_text(config)
    return path, stats_socket


def nginx_command(main_config: Path, *extra: str) -> list[str]:
    """`-e` moves nginx's startup error log off /var/log, which a test may not be able to write."""
    directory = main_config.parent
    return [NGINX, "-p", str(directory), "-c", str(main_config), "-e", str(directory / "error.log"), *extra]


def check_nginx(main_config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(nginx_command(main_config, "-t"), capture_output=True, text=True, timeout=30)


def check_haproxy(config: Path) -> subprocess.CompletedProcess[str]:
    """`-dW` turns warnings into errors: a config that only warns is still a config to fix."""
    return subprocess.run([HAPROXY, "-c", "-dW", "-f", str(config)], capture_output=True, text=True, timeout=30)


@dataclass
class RunningProxy:
    """A proxy process listening on 127.0.0.1:port, its output in log_path; over https when
    ``tls`` is set (pass ``verify`` to requests: the certificate to trust)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    tls: Certificate | None

    @property
    def verify(self) -> str | bool:
        return str(self.tls.cert) if self.tls else True

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        """The end of the log, for assertion messages."""
        return self.log_path.read_text(errors="replace")[-5000:]

    def log_lines(self, containing: str) -> list[str]:
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if containing in line]


@dataclass
class RunningHAProxy(RunningProxy):
    """HAProxy with its runtime API (the `stats socket`), spoken to as scripts/rolling-deploy does."""

    stats_socket: Path

    def command(self, line: str) -> str:
        return RuntimeAPI(self.stats_socket).command(line)

    def servers(self) -> dict[str, dict[str, str]]:
        """`show stat` for the backend's servers, by server name (status, check_status, …)."""
        return RuntimeAPI(self.stats_socket).servers(HAPROXY_BACKEND)

    def wait_until_checked_up(self, names: Sequence[str]) -> None:
        """Wait until every named server has passed a health check, not just been assumed up."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            servers = self.servers()
            if all(servers[name]["status"] == "UP" and servers[name]["check_status"] == "L7OK" for name in names):
                return
            time.sleep(0.05)
        raise AssertionError(f"servers {names} not checked UP after {START_TIMEOUT_SECONDS} s: {self.servers()}")


def _wait_until_answering(proxy: RunningProxy) -> None:
    """Any HTTP answer will do: both configs answer 404 on / without asking an instance."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise AssertionError(f"{proxy.process.args[0]} exited with {proxy.process.returncode}:\n{proxy.log()}")
        try:
            requests.get(proxy.url("/"), timeout=1, verify=proxy.verify)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"{proxy.process.args[0]} not answering after {START_TIMEOUT_SECONDS} s:\n{proxy.log()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (both stop at once on it), then SIGKILL to the group so no nginx worker outlives a test."""
    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(STOP_TIMEOUT_SECONDS)


@contextmanager
def running_nginx(
    directory: Path, upstream_ports: Sequence[int], tls: Certificate | None = None
) -> Iterator[RunningProxy]:
    """nginx from the shipped snippet, in front of the given ports, until the block ends."""
    port = free_port()
    main_config = render_nginx(directory, port, upstream_ports, tls)
    # The error log that the rendered config names: nginx's own output lands there too.
    log_path = directory / "error.log"
    proxy = RunningProxy(start_logged(nginx_command(main_config), log_path), port, log_path, tls)
    try:
        _wait_until_answering(proxy)
        yield proxy
    finally:
        _stop(proxy.process)


@contextmanager
def running_haproxy(
    directory: Path, server_ports: Sequence[int], tls: Certificate | None = None
) -> Iterator[RunningHAProxy]:
    """HAProxy from the shipped config in the foreground (-db), in front of the given ports."""
    port = free_port()
    config, stats_socket = render_haproxy(directory, port, server_ports, tls)
    log_path = directory / "haproxy.out"
    process = start_logged([HAPROXY, "-db", "-f", str(config)], log_path)
    proxy = RunningHAProxy(process, port, log_path, tls, stats_socket)
    try:
        _wait_until_answering(proxy)
        yield proxy
    finally:
        _stop(proxy.process)
