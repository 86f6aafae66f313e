"""HAProxy's runtime API (its admin ``stats socket``): what a rolling deploy asks of it.

One command per connection; HAProxy answers and closes. There is no socat on most hosts that
run this, so the socket is spoken to directly.
"""

from __future__ import annotations

import csv
import socket
from pathlib import Path


class HAProxyError(RuntimeError):
    """HAProxy refused a command or does not know the server; the message is its answer."""


class RuntimeAPI:
    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def command(self, line: str) -> str:
        """Send one command and return HAProxy's whole answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(self.timeout)
            client.connect(str(self.socket_path))
            client.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := client.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self, backend: str) -> dict[str, dict[str, str]]:
        """``show stat`` rows of the backend's servers, by server name (status, scur, check_status…)."""
        answer = self.command("show stat").removeprefix("# ")
        return {
            row["svname"]: row
            for row in csv.DictReader(answer.splitlines())
            if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def server(self, backend: str, name: str) -> dict[str, str]:
        servers = self.servers(backend)
        if name not in servers:
            raise HAProxyError(f"HAProxy has no server {backend}/{name}; it has: {', '.join(servers) or 'none'}")
        return servers[name]

    def set_state(self, backend: str, name: str, state: str) -> None:
        """``ready``, ``drain`` (no new connections, current ones finish) or ``maint``."""
        answer = self.command(f"set server {backend}/{name} state {state}").strip()
        if answer:
            raise HAProxyError(f"set server {backend}/{name} state {state}: {answer}")
