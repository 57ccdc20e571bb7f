"""The ``unconcluded`` mark: what it does, and that only modules reading no worker output use it.

The test application concludes each write when its request returns (tests/conftest.py's
``app``), so that a test reads events, monitoring looks and lag as a worker would leave them.
That is about a fifth of an API test's time (issue 24 measured 40.2 s against 31.9 s on five
API modules); a module that reads none of it is marked ``unconcluded``. A mark on a module that
does read worker output would let its assertions pass on a worker that never ran ("no event
was sent" holds trivially), so the guard below refuses the mark wherever the module's source
names anything the worker makes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import create
from tests.factories import peer_group_trial

TESTS = Path(__file__).resolve().parents[1]
MARKED = re.compile(r"pytest\.mark\.unconcluded")
# What the conclusions worker makes or reports: events and their feed, webhooks, monitoring
# looks and boundaries, the outbox, its lag in /health and the operations and metrics routes.
WORKER_OUTPUT = re.compile(
    r"\bevents?\b|monitoring|\blooks?\b|boundar|conclu|webhook|/v1/feed|outbox|/health|"
    r"operations|/metrics|\blag\b|deliver",
    re.IGNORECASE,
)


def waiting(client: TestClient) -> int:
    lag = client.get("/health").json()["conclusions"]
    return int(lag["waiting"])


@pytest.mark.db
@pytest.mark.parametrize(
    "waiting_after",
    [
        pytest.param(0, id="concluded"),
        pytest.param(1, id="unconcluded", marks=pytest.mark.unconcluded),
    ],
)
def test_a_write_is_concluded_when_its_request_returns_unless_unconcluded(
    client: TestClient, make_key: MakeKey, auth: Auth, waiting_after: int
) -> None:
    create(client, auth(make_key(["submit", "curate"], trusted=True)), peer_group_trial())
    assert waiting(client) == waiting_after


def marked_modules() -> list[Path]:
    here = Path(__file__).resolve()
    return [
        path
        for path in sorted(TESTS.rglob("test_*.py"))
        if path != here and MARKED.search(path.read_text())
    ]


def test_some_modules_are_marked() -> None:
    assert len(marked_modules()) >= 10


@pytest.mark.parametrize("module", marked_modules(), ids=lambda p: p.name)
def test_a_marked_module_reads_no_worker_output(module: Path) -> None:
    source = MARKED.sub("", module.read_text())  # the mark's own name says "conclu"
    named = sorted({m.group(0).lower() for m in WORKER_OUTPUT.finditer(source)})
    assert named == [], f"{module.name} is marked unconcluded but names {named}"
