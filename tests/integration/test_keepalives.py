"""Every connection to Postgres has TCP keepalive on, read back from the socket itself.

Without it a NAT or firewall that drops idle flows leaves a LISTEN or the inbox's connection
waiting on a dead socket for hours.
"""

from __future__ import annotations

import socket

import psycopg

from tests.harness.polling import wait_for
from webhook_server import db
from webhook_server.inbox import Inbox


def keepalive_options(conn: psycopg.Connection) -> tuple[int, int, int, int]:
    """SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT of the connection's own socket."""
    sock = socket.socket(fileno=socket.dup(conn.fileno()))
    try:
        return (
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        )
    finally:
        sock.close()


EXPECTED = (1, db.KEEPALIVE_IDLE_SECONDS, db.KEEPALIVE_INTERVAL_SECONDS, db.KEEPALIVE_COUNT)


def test_a_command_connection_has_tcp_keepalive(database_url: str) -> None:
    with db.connect(database_url) as conn:
        assert conn.info.host == "127.0.0.1"  # TCP: keepalives do not apply to unix sockets
        assert keepalive_options(conn) == EXPECTED


def test_the_inbox_writers_connection_has_tcp_keepalive(database_url: str) -> None:
    inbox = Inbox(database_url, timeout=2.0)
    inbox.start()  # the writer connects at once, for its first probe
    try:
        conn = wait_for(lambda: inbox._conn, 5, "the inbox writer's connection")
        assert keepalive_options(conn) == EXPECTED  # the writer sits idle on its queue meanwhile
    finally:
        inbox.close()
