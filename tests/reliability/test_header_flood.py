"""The probe's attack on a real server: two connections streaming request headers.

Before: uvicorn with httptools buffered them all (300 MB of headers took the process from
248 to 832 MB). Now uvicorn parses with h11, which closes a connection whose request head
passes 16 KiB, for each documented way of serving: the README's plain ``uvicorn
service.main:app`` (h11's default limit) and ``make run`` / the Docker image (``--http h11
--h11-max-incomplete-event-size``).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.reliability.servers import Server, fresh_database, migrated_with_keys

FLOOD_BYTES = 64 * 1024 * 1024  # per connection, if the server never stops it
LINE = b"x-flood: " + b"a" * 8183 + b"\r\n"  # 8 KiB a header line
MAX_GROWTH = 20 * 1024 * 1024


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _flood(port: int, sent: list[int], answers: list[bytes]) -> None:
    """Stream headers until the server closes the connection; how much went, what came back."""
    total = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        try:
            conn.sendall(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            while total < FLOOD_BYTES:
                conn.sendall(LINE)
                total += len(LINE)
        except OSError:
            pass  # closed by the server: what we wanted
        try:
            answers.append(conn.recv(4096))
        except OSError:
            answers.append(b"")
    sent.append(total)


OPTIONS = {
    "plain uvicorn (README)": (),
    "make run / Docker": ("--http", "h11", "--h11-max-incomplete-event-size", "16384"),
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_two_header_floods_do_not_grow_the_process(
    options: tuple[str, ...], tmp_path: Path
) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        migrated_with_keys(url, {})
        server = Server(url, tmp_path / "server.log", options=options)
        try:
            server.wait_until_ready()
            before = _rss(server.process.pid)
            sent: list[int] = []
            answers: list[bytes] = []
            floods = [
                threading.Thread(target=_flood, args=(server.port, sent, answers)) for _ in range(2)
            ]
            for flood in floods:
                flood.start()
            for flood in floods:
                flood.join(120)
            after = _rss(server.process.pid)
            assert server.process.poll() is None, server.log.read_text()
        finally:
            server.stop()
    assert len(sent) == 2
    assert max(sent) < FLOOD_BYTES, "the server read the whole flood"
    assert after - before <= MAX_GROWTH, (before, after, sent)
    for answer in answers:  # refused (h11: 400 then close), never served
        assert not answer.startswith(b"HTTP/1.1 200"), answer
