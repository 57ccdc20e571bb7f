"""The write path measured in one process, without a server (issue 23 follow-ups).

Run ``python -m bench.inprocess [--studies 10000] [--profile worker|post|batch|miss]``: on a
fresh SQLite database (or ``--url``), batch imports ``--studies`` studies through the app
(TestClient, no background worker), drains the conclusions worker, then times single POSTs, the
worker's drain of a backlog of those POSTs, the first pooled GET after a write (brotli, as
httpx asks for it, and not compressed), and a batch. ``--profile miss`` profiles the route's
work of that GET in the main thread (the route runs in another). A quieter, smaller look than
``bench.writes`` (no uvicorn, no concurrency): where the time of each step goes, not what a
client sees.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bench.server import _lma
from bench.studies import StudyFactory

OUTCOME = "empowerment"


@contextmanager
def _profiled(name: str, wanted: str | None) -> Iterator[None]:
    if wanted != name:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"p50 {statistics.median(values) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms (n={len(values)})"


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--url", default=None)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--keep", default=None, help="a SQLite file to keep (seeded once)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.keep) if args.keep else Path(folder) / "bench.sqlite3"
        url = args.url or f"sqlite:///{path}"
        key_file = path.with_suffix(".key")
        seeded = args.keep is not None and key_file.exists()
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        if not seeded:
            _lma(env, "db", "upgrade")
            made = _lma(env, "keys", "create", "--name", "b", "--scopes", "submit", "--trusted")
            key_file.write_text(made.splitlines()[1].strip())
        os.environ.update(DATABASE_URL=url, CONCLUSIONS_IN_API="false", LOG_LEVEL="WARNING")
        from service.main import create_app
        from service.settings import Settings

        app = create_app(Settings())
        run(app, key_file.read_text(), args, seed=not seeded)


def _write(app: Any, body: dict[str, Any]) -> None:
    from service.schemas.studies import StudyCreate
    from service.usecases.studies.evidence import WriteContext
    from service.usecases.studies.service import create_study

    context = WriteContext(actor="b", request_id=None, may_curate=False, trusted=True)
    with app.state.database.session(write=True) as session:
        create_study(session, StudyCreate.model_validate(body), context)


def _write_batch(app: Any, bodies: list[dict[str, Any]]) -> None:
    from service.schemas.studies import StudyCreate
    from service.usecases.studies.evidence import WriteContext
    from service.usecases.studies.service import create_studies

    context = WriteContext(actor="b", request_id=None, may_curate=False, trusted=True)
    studies = [StudyCreate.model_validate(body) for body in bodies]
    with app.state.database.session(write=True) as session:
        create_studies(session, studies, context)


def run(app: Any, key: str, args: argparse.Namespace, *, seed: bool) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    factory = StudyFactory(seed=time.time_ns() % 1000, prefix=f"inproc{time.time_ns()}")
    worker = app.state.conclusions
    with TestClient(app) as client:
        rates = []
        for index in range(args.studies // 1_000 if seed else 0):
            body = {"studies": factory.batch(1_000)}
            with _profiled("batch", args.profile if index == args.studies // 1_000 - 1 else None):
                seconds = _timed(
                    lambda b=body: client.post("/v1/studies/batch", json=b, headers=headers)
                )
            rates.append(1_000 / seconds)
        print(f"batch import: {', '.join(f'{r:.0f}' for r in rates)} studies/s")
        start = time.perf_counter()
        done = worker.drain()
        print(f"worker, {len(done)} batch versions: {time.perf_counter() - start:.2f} s")
        posts = []
        with _profiled("post", args.profile):
            for _ in range(args.posts):
                body = factory.study(outcome=OUTCOME)
                posts.append(
                    _timed(lambda b=body: client.post("/v1/studies", json=b, headers=headers))
                )
        print(f"POST /v1/studies: {_ms(posts)}")
        writes = []
        with _profiled("write", args.profile):
            for _ in range(args.posts):
                body = factory.study(outcome=OUTCOME)
                writes.append(_timed(lambda b=body: _write(app, b)))
        print(f"create_study in its own transaction: {_ms(writes)}")
        bodies = factory.batch(1_000)
        with _profiled("batchwrite", args.profile):
            seconds = _timed(lambda: _write_batch(app, bodies))
        print(f"create_studies (1,000) in its own transaction: {1_000 / seconds:.0f} studies/s")
        with _profiled("worker", args.profile):
            start = time.perf_counter()
            done = worker.drain()
        took = time.perf_counter() - start
        print(
            f"worker backlog of {len(done)} versions: {took:.2f} s "
            f"({took / max(len(done), 1) * 1e3:.0f} ms each)"
        )
        singles = []
        warm, worker._after = worker._after, None  # the version's events, not the warm-up
        with _profiled("single", args.profile):
            for _ in range(5):
                client.post("/v1/studies", json=factory.study(outcome=OUTCOME), headers=headers)
                singles.append(_timed(lambda: worker.drain()))
        worker._after = warm
        print(f"worker, one version (events stored, before warming): {_ms(singles)}")
        misses: dict[str, list[float]] = {"br": [], "identity": []}
        for _ in range(5):
            for encoding, times in misses.items():
                client.post("/v1/studies", json=factory.study(outcome=OUTCOME), headers=headers)
                wanted = {"Accept-Encoding": encoding}
                url = f"/v1/outcomes/{OUTCOME}/pooled"
                times.append(_timed(lambda u=url, w=wanted: client.get(u, headers=w)))
        print(f"first pooled GET after a write (worker behind): {_ms(misses['br'])}")
        print(f"  the same, not compressed: {_ms(misses['identity'])}")
        if args.profile == "miss":  # the handler runs in another thread: its work, here
            _profile_miss(app, factory, client, headers)
        worker.drain()


def _profile_miss(app: Any, factory: StudyFactory, client: TestClient, headers: Any) -> None:
    """The route's work of a first pooled GET after a write, profiled in this thread."""
    from service.schemas.exchange import PooledExportQuery
    from service.usecases.surveillance.answers import pooled_with_ongoing

    for _ in range(3):
        client.post("/v1/studies", json=factory.study(outcome=OUTCOME), headers=headers)
        with _profiled("miss", "miss"), app.state.database.session() as session:
            pooled_with_ongoing(session, app.state.pooled_cache, OUTCOME, PooledExportQuery())


if __name__ == "__main__":
    main()
