"""Slow request bodies, against a real server: a client that sends its body a byte at a time
must not hold the server's request slots. A few dozen such connections, with no key, used to
take every slot (admission counted them while they trickled in), so /health and every
authenticated call timed out until they closed (the security review)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.hardening.served import API, PreparedDatabase, ServedApp, prepared_database

pytestmark = pytest.mark.slow

BODY_TIMEOUT = 3.0
# More than the worker threads (40) that admission lets in at once.
SLOW_CLIENTS = 45


@pytest.fixture
def prepared(tmp_path: Path) -> Iterator[PreparedDatabase]:
    with prepared_database(tmp_path, "slow") as database:
        yield database


@pytest.fixture
def server(prepared: PreparedDatabase, tmp_path: Path) -> Iterator[ServedApp]:
    app = ServedApp(
        prepared, tmp_path / "server.log", {"HRDD_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT)}
    )
    app.start()
    try:
        yield app
    finally:
        app.stop()


def _start_slow_post(server: ServedApp) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    connection.sendall(
        (
            f"POST {API}/portfolios HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        ).encode()
    )
    return connection


def _response_head(connection: socket.socket) -> str:
    received = b""
    while b"\r\n\r\n" not in received or b"request-timeout" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.decode("latin-1")


def test_slow_bodies_hold_no_request_slot_and_time_out_with_408(server: ServedApp) -> None:
    slow = [_start_slow_post(server) for _ in range(SLOW_CLIENTS)]
    try:
        started = time.monotonic()
        # While they trickle, the server still answers, with and without a key.
        assert httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200
        with server.client(timeout=5) as client:
            assert client.get(f"{API}/me").status_code == 200
            created = client.post(
                f"{API}/portfolios", json={"name": "While others trickle", "base_currency": "EUR"}
            )
            assert created.status_code == 201, created.text
        assert time.monotonic() - started < BODY_TIMEOUT, "answered only after the timeout"

        heads = [_response_head(connection) for connection in slow]
    finally:
        for connection in slow:
            connection.close()
    assert all(head.startswith("HTTP/1.1 408") for head in heads), heads[0]
    assert all("/problems/request-timeout" in head for head in heads), heads[0]
    # Nothing a slow client sent was written.
    with server.client() as client:
        names = [p["name"] for p in client.get(f"{API}/portfolios").json()["items"]]
    assert names == ["While others trickle"]


def _start_slow_reader(server: ServedApp) -> socket.socket:
    """Asks five times for a 1.5 MB file and never reads: the server's writes block."""
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.settimeout(30)
    connection.connect(("127.0.0.1", server.port))
    ask = "GET /docs-assets/swagger-ui-bundle.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    connection.sendall((ask * 5).encode())
    return connection


def test_clients_reading_slowly_hold_no_request_slot(server: ServedApp) -> None:
    """A slot is given back when the response starts: clients that never read what they
    asked for held every slot, so /health and every call timed out until they left."""
    slow = [_start_slow_reader(server) for _ in range(SLOW_CLIENTS)]
    try:
        time.sleep(1)  # their responses are under way and blocked
        assert httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200
        with server.client(timeout=5) as client:
            assert client.get(f"{API}/me").status_code == 200
    finally:
        for connection in slow:
            connection.close()
