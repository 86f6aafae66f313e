"""The benchmark's destination: a keep-alive HTTP/1.1 server on loopback that notes each arrival.

Run as its own process (``python bench/forward_destination.py PORT_FILE ARRIVALS_FILE``) so its
CPU is not the forwarder's: it writes its port to PORT_FILE when it listens, answers 204 to every
POST, and on SIGTERM writes ``<webhook-id> <unix time>`` a line to ARRIVALS_FILE.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ARRIVALS: list[tuple[str, float]] = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        arrived = time.time()
        with LOCK:
            ARRIVALS.append((self.headers.get("webhook-id", "-"), arrived))
        self.send_response(204)
        self.end_headers()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main() -> None:
    port_file, arrivals_file = Path(sys.argv[1]), Path(sys.argv[2])
    server = Server(("127.0.0.1", 0), Handler)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()
    with LOCK:
        arrivals_file.write_text("".join(f"{ident} {at}\n" for ident, at in ARRIVALS))


if __name__ == "__main__":
    main()
