"""The delivery tests' shared setting: a listener that notices its stop sooner."""

from __future__ import annotations

import pytest

from service.db import notifications


@pytest.fixture(autouse=True)
def listener_stops_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL every stopped delivery worker joins its LISTEN thread, which looks at its
    stop event every ``CHECK_SECONDS`` (0.5 s): up to half a second at the end of each test that
    runs a worker. Looking every 20 ms changes nothing else: notifications that arrive between
    two looks wait on the connection, and are read at the next."""
    monkeypatch.setattr(notifications, "CHECK_SECONDS", 0.02)
