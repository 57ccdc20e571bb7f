"""The conclusions worker under faults, on databases where transactions really commit.

- killed with SIGKILL mid-version: a restarted worker concludes every version, and no event
  is lost or doubled;
- the database goes away while it runs: it backs off and resumes;
- a burst of writes (1,000 in ``make scale``, 100 in ``make test``): the lag shows in /health,
  and the worker catches up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.db.engine import Database
from service.db.models import Event
from service.db.repositories.conclusions import Backlog, ConclusionRepository
from service.main import create_app
from service.schemas.studies import StudyCreate
from service.settings import Settings
from service.usecases.conclusions.runner import worker_for
from service.usecases.conclusions.worker import ConclusionsWorker, WorkerTiming
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study
from tests.api.pooled_support import trial
from tests.api.studies_support import committed_key
from tests.delivery.support import committed_database
from tests.support.scale import scaled

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("backend"), pytest.mark.slow]
CONTEXT = WriteContext(actor="bot", request_id=None, may_curate=True, trusted=True)
PENDING = WriteContext(actor="update-bot", request_id=None, may_curate=False, trusted=False)
DEADLINE_SECONDS = 240
# A worker in a process of its own, as `lma worker` runs it (without webhook delivery). It
# imports its code, then waits for a line on stdin before it reads its settings, opens the
# database or works: the test starts both processes at once, so their imports (a second or
# more each) overlap the writes, and the restarted worker begins only after the first is dead.
WORKER_SCRIPT = """
import sys
import threading
from service.db.engine import Database
from service.settings import get_settings
from service.usecases.conclusions.runner import worker_for
sys.stdin.readline()
settings = get_settings()
worker_for(Database.from_settings(settings), settings).run(threading.Event())
"""


def write_studies(database: Database, count: int, *, included_every: int = 1) -> None:
    """``count`` single-study writes, each its own transaction (version); every
    ``included_every``-th by a trusted key, the others pending (an update bot's backlog)."""
    for index in range(count):
        with database.session(write=True) as session:
            body = trial(0.1 + 0.01 * (index % 50), n=40 + index % 30)
            context = CONTEXT if index % included_every == 0 else PENDING
            create_study(session, StudyCreate.model_validate(body), context)


def backlog(database: Database) -> Backlog:
    with database.session() as session:
        return ConclusionRepository(session).backlog()


def wait_for(condition: object, what: str, deadline: float = DEADLINE_SECONDS) -> None:
    """Poll ``condition()`` until true, failing after ``deadline`` seconds (no fixed sleeps)."""
    assert callable(condition)
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def events(database: Database) -> list[tuple[int, int | None, str, str | None]]:
    with database.session() as session:
        rows = session.execute(
            select(Event.id, Event.evidence_version, Event.type, Event.payload).order_by(Event.id)
        ).all()
    return [(r.id, r.evidence_version, r.type, r.payload["data"].get("category")) for r in rows]


def assert_each_version_concluded_once(database: Database, versions: int) -> None:
    found = events(database)
    assert [event_id for event_id, *_ in found] == list(range(1, len(found) + 1))  # gapless
    assert [v for _, v, _, _ in found] == sorted(v for _, v, _, _ in found)  # version order
    submitted = Counter(v for _, v, kind, _ in found if kind == "study.submitted")
    assert submitted == Counter(dict.fromkeys(range(1, versions + 1), 1))
    cells = Counter((v, category) for _, v, kind, category in found if kind == "pooled.changed")
    assert set(cells.values()) <= {1}  # no cell announced twice for a version


@contextmanager
def worker_process(url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CONCLUSIONS_LEASE_SECONDS": "1",
        "CONCLUSIONS_POLL_SECONDS": "0.05",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT], env=env, stdin=subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        assert process.stdin is not None
        process.stdin.close()


def start(process: subprocess.Popen[bytes]) -> None:
    """Let a ``worker_process`` begin: read its settings, open the database and work."""
    assert process.stdin is not None
    process.stdin.write(b"start\n")
    process.stdin.flush()


def test_a_worker_killed_mid_version_loses_and_doubles_nothing(
    backend: str, tmp_path: Path
) -> None:
    versions = 40
    with committed_database(backend, tmp_path) as url:
        database = Database.from_settings(Settings(database_url=url))
        with worker_process(url) as first, worker_process(url) as restarted:
            write_studies(database, versions)
            start(first)
            # Killed while it works: some versions concluded, others not yet.
            wait_for(lambda: (backlog(database).newest_concluded or 0) >= 3, "a first conclusion")
            first.send_signal(signal.SIGKILL)
            first.wait(30)
            assert backlog(database).waiting > 0
            start(restarted)
            wait_for(lambda: backlog(database).waiting == 0, "the restarted worker")
        assert_each_version_concluded_once(database, versions)
        database.dispose()


class Outage:
    """Session openers that fail like an unreachable database while ``down`` is set."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.down = threading.Event()
        self.refused = 0

    def opener(self, *, write: bool) -> object:
        @contextmanager
        def opened() -> Iterator[Session]:
            if self.down.is_set():
                self.refused += 1
                raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
            with self.database.session(write=write) as session:
                yield session

        return opened


def test_a_database_outage_backs_off_then_resumes(backend: str, tmp_path: Path) -> None:
    with committed_database(backend, tmp_path) as url:
        database = Database.from_settings(Settings(database_url=url))
        outage = Outage(database)
        worker = ConclusionsWorker(
            outage.opener(write=False),  # type: ignore[arg-type]
            outage.opener(write=True),  # type: ignore[arg-type]
            timing=WorkerTiming(lease=5, poll=0.02, retry=0.05),
        )
        outage.down.set()
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            wait_for(lambda: outage.refused >= 3, "attempts against the dead database")
            started, refused = time.monotonic(), outage.refused
            write_studies(database, 3)  # the database is fine; only the worker's view is down
            wait_for(lambda: outage.refused >= refused + 2, "more attempts")
            # Backing off: doubling from 0.02 s, two more attempts take over 0.1 s.
            assert time.monotonic() - started > 0.1
            assert backlog(database).waiting == 3
            outage.down.clear()
            worker.wake()
            wait_for(lambda: backlog(database).waiting == 0, "the worker to resume")
        finally:
            stop.set()
            worker.wake()
            thread.join(60)
        assert backlog(database).failing == 0  # an outage is not a failed version
        assert_each_version_concluded_once(database, 3)
        database.dispose()


# no_cover (pytest-cov): a scale test, run without coverage's tracer (2-3 times slower under it);
# the lines it runs are run by the smaller tests beside it. The 1,000 writes run in
# `make scale` (tests/support/scale.py).
@pytest.mark.no_cover
@pytest.mark.scale
def test_a_burst_of_writes_shows_lag_and_the_worker_catches_up(
    backend: str, tmp_path: Path
) -> None:
    # The burst is written before the worker starts, so the lag is there to see at any size;
    # make test's 100 writes check what the 1,000 do, in less time than the 250 before.
    burst = scaled(full=1_000, quick=100)
    with committed_database(backend, tmp_path) as url:
        settings = Settings(
            database_url=url, conclusions_in_api=False, webhooks_deliver_in_api=False
        )
        database = Database.from_settings(settings)
        # An update bot posting its backlog (pending), a curator's include now and then: each
        # included version is one more monitoring look, whose boundaries cost grows with the
        # number of looks (Lan-DeMets over every look), so most of the burst is pending.
        write_studies(database, burst, included_every=50)
        admin_token = committed_key(settings, ["admin"], name="ops")
        with TestClient(create_app(settings)) as client:
            health = client.get("/health").json()["conclusions"]
            assert health["waiting"] == burst
            assert health["lag_seconds"] > 0
            ops = client.get(
                "/v1/operations/conclusions", headers={"Authorization": f"Bearer {admin_token}"}
            )
            assert ops.status_code == 200, ops.text
            assert ops.json()["lag"]["waiting"] == burst
            assert client.get("/v1/operations/conclusions").status_code == 401
            worker = worker_for(database, settings)
            stop = threading.Event()
            thread = threading.Thread(target=worker.run, args=(stop,))
            thread.start()
            try:
                wait_for(
                    lambda: client.get("/health").json()["conclusions"]["waiting"] == 0,
                    "the worker to catch up",
                )
            finally:
                stop.set()
                worker.wake()
                thread.join(60)
            caught_up = client.get("/health").json()["conclusions"]
            assert caught_up["newest_concluded_version"] == burst
            assert caught_up["lag_seconds"] == 0.0
        assert_each_version_concluded_once(database, burst)
        database.dispose()
